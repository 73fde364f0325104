// The first import of main.ts: OpenTelemetry must start before Nest, pg, ioredis and kafkajs are loaded,
// so that auto-instrumentation can patch them.
import { startTelemetry } from '@berth/telemetry';

startTelemetry({ serviceName: 'webhook-dispatcher' });
