import { shutdownTelemetry, startTelemetry, withSpan } from '@berth/telemetry';
import { http, pollUntil, stackEnv } from '@berth/testing';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { serviceRoot } from '../infrastructure.module';
import { startService, type RunningService } from '../service-runtime';

/**
 * A service started in-process (as the test harnesses of the service libs do) with telemetry on: `/metrics`
 * is served on the service's own port and HTTP metrics move; Berth's spans are recorded and log lines carry
 * their ids.
 *
 * Two things only work in a real process, which libs/testing/src/e2e/events-otel-pipeline.integration-spec.ts
 * covers with an OTLP receiver (HTTP server spans named after the route, Nest and Postgres spans, scrubbed
 * URLs, OTLP/JSON and protobuf): auto-instrumentation, because Jest hands modules a `module` of its own, so the
 * require hooks that patch http, pg or Nest never see a load; and OTLP/HTTP export, because the exporters load
 * `http` with a dynamic `import()`, which Jest's VM refuses without --experimental-vm-modules. Spans are
 * therefore captured in memory here.
 */
describe('metrics and traces of an in-process service', () => {
  const spans = new InMemorySpanExporter();
  let svc: RunningService;

  beforeAll(async () => {
    startTelemetry({ serviceName: 'platform-in-process', spanProcessors: [new SimpleSpanProcessor(spans)] });
    svc = await startService(
      {
        name: 'platform-in-process',
        mode: 'distributed',
        rootModule: (config, logger) => serviceRoot(config, logger, { needs: ['database', 'cache'], modules: [] }),
      },
      { ...stackEnv(), BERTH_PORT: '0', BERTH_LOG_LEVEL: 'silent' },
    );
  });

  afterAll(async () => {
    await svc?.stop();
    await shutdownTelemetry();
  });

  function count(text: string, route: string, status: string): number {
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('http_server_request_duration_count{') &&
          l.includes(`http_route="${route}"`) &&
          l.includes(`http_response_status_code="${status}"`),
      );
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  it('serves /metrics on the service port, and http.server.request.duration moves with requests', async () => {
    const first = await http(`${svc.url}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const before = count(first.body, '/healthz', '200');
    for (let i = 0; i < 4; i++) expect((await http(`${svc.url}/healthz`)).status).toBe(200);
    await http(`${svc.url}/nowhere/${'x'.repeat(20)}`);
    const after = (await http(`${svc.url}/metrics`)).body;
    expect(count(after, '/healthz', '200')).toBe(before + 4);
    expect(after).toContain('service_name="platform-in-process"');
    // A request no route matched has no http.route (never the path: it could hold anything).
    expect(after).toMatch(
      /http_server_request_duration_count\{http_request_method="GET",http_response_status_code="404"/,
    );
    expect(after).not.toContain('xxxxxxxxxxxxxxxxxxxx');
  });

  it('records Berth spans through the configured processors', async () => {
    await withSpan('berth.test.step', { 'berth.registry_id': 'r1' }, () => Promise.resolve());
    const names = await pollUntil(
      'the Berth span',
      () => Promise.resolve(spans.getFinishedSpans().map((s) => s.name)),
      (n) => n.includes('berth.test.step'),
      { timeoutMs: 5000 },
    );
    expect(names).toContain('berth.test.step');
    const span = spans.getFinishedSpans().find((s) => s.name === 'berth.test.step');
    expect(span?.attributes['berth.registry_id']).toBe('r1');
    expect(span?.resource.attributes['service.name']).toBe('platform-in-process');
  });

  it('log lines inside a span carry its trace id', async () => {
    const lines: string[] = [];
    const { createLogger } = await import('../json-logger');
    const logger = createLogger('t', 'info', { write: (l: string) => lines.push(l) });
    await withSpan('logged', {}, () => {
      logger.info('inside');
      return Promise.resolve();
    });
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside?.['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(inside?.['span_id']).toMatch(/^[0-9a-f]{16}$/);
    expect(outside?.['trace_id']).toBeUndefined();
  });
});
