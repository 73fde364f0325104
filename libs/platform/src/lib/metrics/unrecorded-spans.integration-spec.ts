import { Controller, Get, Module } from '@nestjs/common';
import { currentTraceparent, shutdownTelemetry, startTelemetry, traceLogFields } from '@berth/telemetry';
import { http, stackEnv } from '@berth/testing';
import { trace } from '@opentelemetry/api';
import { serviceRoot } from '../infrastructure.module';
import { startService, type RunningService } from '../service-runtime';

/** What the handler saw of the active span: the ids that reach logs and event headers, and whether it is recorded. */
@Controller('seen')
class SeenController {
  @Get()
  seen(): { recording: boolean | undefined; traceparent: string | undefined; log: Record<string, string> } {
    return {
      recording: trace.getActiveSpan()?.isRecording(),
      traceparent: currentTraceparent(),
      log: { ...traceLogFields() },
    };
  }
}

@Module({ controllers: [SeenController] })
class SeenModule {}

/**
 * Issue #7: with no trace exporter configured (no OTLP endpoint, the embedded default) spans are not recorded, as
 * nothing would read them, but every request still has a span context: the caller's trace id, a span id of its
 * own, in log fields and in the `traceparent` written into events.
 */
describe('telemetry with no trace exporter', () => {
  let svc: RunningService;
  const saved: Record<string, string | undefined> = {};
  const OTEL_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_TRACES_EXPORTER', 'OTEL_TRACES_SAMPLER', 'OTEL_SDK_DISABLED'];

  beforeAll(async () => {
    for (const k of OTEL_VARS) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    startTelemetry({ serviceName: 'unrecorded-spans-test' });
    svc = await startService(
      {
        name: 'unrecorded-spans-test',
        mode: 'distributed',
        rootModule: (config, logger) => serviceRoot(config, logger, { needs: ['database'], modules: [SeenModule] }),
      },
      { ...stackEnv(), BERTH_PORT: '0', BERTH_LOG_LEVEL: 'silent' },
    );
  });

  afterAll(async () => {
    await svc?.stop();
    await shutdownTelemetry();
    for (const k of OTEL_VARS) if (saved[k] !== undefined) process.env[k] = saved[k];
  });

  it('continues the caller’s trace id with a span id of its own, unrecorded, in log fields and event traceparents', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await http(`${svc.url}/seen`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(res.status).toBe(200);
    const seen = res.json() as { recording: boolean; traceparent: string; log: Record<string, string> };
    expect(seen.recording).toBe(false);
    expect(seen.log['trace_id']).toBe(traceId);
    expect(seen.log['span_id']).toMatch(/^[0-9a-f]{16}$/);
    expect(seen.log['span_id']).not.toBe(callerSpan);
    expect(seen.traceparent).toBe(`00-${traceId}-${seen.log['span_id']}-00`);
  });

  it('starts a trace of its own for a request without traceparent', async () => {
    const seen = (await http(`${svc.url}/seen`)).json() as { recording: boolean; log: Record<string, string> };
    expect(seen.recording).toBe(false);
    expect(seen.log['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.log['trace_id']).not.toBe('0'.repeat(32));
  });
});
