import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';

/** Serves `/metrics`. The metrics themselves are recorded through `@berth/telemetry`. */
@Module({ controllers: [MetricsController] })
export class MetricsModule {}
