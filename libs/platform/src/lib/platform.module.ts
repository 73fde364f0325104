import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import type { Logger } from 'pino';
import { HealthModule } from './health.module';
import { MetricsModule } from './metrics/metrics.module';
import { BERTH_CONFIG, ROOT_LOGGER } from './platform.tokens';

/** Makes the process's config and logger injectable everywhere, and serves /healthz, /readyz and /metrics. */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: BerthConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [HealthModule, MetricsModule],
      providers: [
        { provide: BERTH_CONFIG, useValue: config },
        { provide: ROOT_LOGGER, useValue: logger },
      ],
      exports: [BERTH_CONFIG, ROOT_LOGGER, HealthModule],
    };
  }
}
