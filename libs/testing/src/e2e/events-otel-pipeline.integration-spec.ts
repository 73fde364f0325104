import {
  freePort,
  http,
  migratedDatabase,
  pollUntil,
  stackEnv,
  startApp,
  stopProcess,
  type ServiceProcess,
} from '../index';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { RegistryPusher } from './events-helpers';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@berth/telemetry';

/**
 * The telemetry of real processes, started as `npm start` / the Helm chart start them (instrument.ts first):
 * an OTLP receiver in the test collects what they export.
 */
const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;
const PG_SCOPE = '@opentelemetry/instrumentation-pg';
const NEST_SCOPE = '@opentelemetry/instrumentation-nestjs-core';
/** The HTTP server span is Berth's own (HttpServerSpan in libs/telemetry), not the HTTP instrumentation's. */
const HTTP_SCOPE = 'berth.http';
const REDIS_SCOPE = '@opentelemetry/instrumentation-ioredis';

function traceparent(): { header: string; traceId: string; spanId: string } {
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** The value of one series on a Prometheus text page (summed over matching label sets). */
function sample(text: string, series: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${series}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function logLines(p: ServiceProcess): Array<Record<string, unknown>> {
  return p
    .output()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitHealthy(p: ServiceProcess, timeoutMs = 90000): Promise<void> {
  await pollUntil(
    `${p.name} /healthz`,
    () => http(`${p.url}/healthz`),
    (r) => r.status === 200,
    { timeoutMs },
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n--- ${p.name} output ---\n${p.output().slice(-4000)}`);
  });
}

describe('telemetry of services run as processes', () => {
  let receiver: OtlpReceiver;
  let db: { url: string; drop(): Promise<void> };
  let frontend: ServiceProcess;
  let tokens: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const stack = stackEnv();
    db = await migratedDatabase(stack['BERTH_DATABASE_URL'] ?? '', 'otel');
    const env = {
      ...stack,
      BERTH_DATABASE_URL: db.url,
      BERTH_S3_BUCKET_PREFIX: `otel-${process.pid}-`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    // The frontend exports OTLP/JSON quickly (spans and pushed metrics); the token service OTLP/protobuf with
    // a batch delay longer than the test, so its spans only leave when a graceful stop flushes them.
    frontend = startApp(
      'registry-frontend',
      {
        ...env,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      await freePort(),
    );
    tokens = startApp(
      'token-service',
      { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_BSP_SCHEDULE_DELAY: '600000' },
      await freePort(),
    );
    await Promise.all([waitHealthy(frontend), waitHealthy(tokens)]);
  });

  afterAll(async () => {
    await Promise.allSettled([frontend, tokens].filter(Boolean).map((p) => stopProcess(p)));
    await receiver?.close();
    await db?.drop();
  });

  const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans().filter((s) => s.traceId === traceId);

  it('a request is one trace: the HTTP server span continues the caller, with Nest and Postgres spans under it', async () => {
    const caller = traceparent();
    // tags/list runs through Nest (manifest and blob reads are answered from a Fastify hook, outside Nest).
    const res = await http(`${frontend.url}/v2/library/app/tags/list`, {
      headers: { traceparent: caller.header },
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    const spans = await pollUntil(
      'server, nest and pg spans of the request',
      () => Promise.resolve(spansOf(caller.traceId)),
      (s) =>
        s.some((x) => x.kind === SERVER) &&
        s.some((x) => x.scope === PG_SCOPE) &&
        s.some((x) => x.scope === NEST_SCOPE),
      { timeoutMs: 60000 },
    );
    const server = spans.find((s) => s.kind === SERVER && s.scope === HTTP_SCOPE);
    expect(server).toMatchObject({ service: 'registry-frontend', parentSpanId: caller.spanId, name: 'GET /v2/*' });
    expect(server?.attributes['http.route']).toBe('/v2/*');
    // Every span of the trace hangs under the server span (no orphan roots).
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans.filter((x) => x !== server)) expect(ids.has(s.parentSpanId ?? '')).toBe(true);
    const pg = spans.filter((s) => s.scope === PG_SCOPE);
    expect(
      pg.some((s) => s.attributes['db.system.name'] === 'postgresql' || s.attributes['db.system'] === 'postgresql'),
    ).toBe(true);
  });

  it('a pull answered by the fast path (a Fastify hook) is one trace too: Postgres spans under the server span, the request counted without a Redis span', async () => {
    // The default registry (what a request to 127.0.0.1 resolves to), in the bootstrap resource group token-service
    // made: its request counts are kept in Redis before the (missing) credentials are refused. That counter call is
    // Berth's own bookkeeping: no span of its own, the server span says the request was counted.
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      await sql.query(
        `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku)
         SELECT subscription_id, id, 'default', 'default.otel.test', location, 'Premium' FROM resource_groups LIMIT 1
         ON CONFLICT DO NOTHING`,
      );
    } finally {
      await sql.end();
    }
    const caller = traceparent();
    const res = await http(`${frontend.url}/v2/library/app/manifests/latest`, { headers: { traceparent: caller.header } });
    expect(res.status).toBe(401);
    const spans = await pollUntil(
      'server and pg spans of the pull',
      () => Promise.resolve(spansOf(caller.traceId)),
      (s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.scope === PG_SCOPE),
      { timeoutMs: 60000 },
    );
    const server = spans.find((s) => s.kind === SERVER);
    expect(server).toMatchObject({ scope: HTTP_SCOPE, name: 'GET /v2/*', parentSpanId: caller.spanId });
    expect(server?.attributes['http.response.status_code']).toBe(res.status);
    expect(server?.attributes['berth.rate_counted']).toBe(true);
    expect(spans.filter((s) => s.scope === REDIS_SCOPE)).toEqual([]);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const underServer = (s: ReceivedSpan): boolean => {
      for (let p = byId.get(s.parentSpanId ?? ''); p; p = byId.get(p.parentSpanId ?? '')) if (p === server) return true;
      return false;
    };
    for (const s of spans.filter((x) => x.scope === PG_SCOPE)) expect(underServer(s)).toBe(true);
  });

  it('scrubs secrets from URLs on spans and does not trace probes', async () => {
    const caller = traceparent();
    await http(`${frontend.url}/v2/library/app/blobs/uploads/abc?_state=s3cr3t&digest=sha256:00`, {
      method: 'PUT',
      headers: { traceparent: caller.header },
    });
    await Promise.all(['/healthz', '/readyz', '/metrics'].map((p) => http(`${frontend.url}${p}`)));
    const [server] = await pollUntil(
      'the PUT server span',
      () => Promise.resolve(spansOf(caller.traceId).filter((s) => s.kind === SERVER)),
      (s) => s.length > 0,
      { timeoutMs: 60000 },
    );
    expect(JSON.stringify(server?.attributes)).not.toContain('s3cr3t');
    expect(server?.attributes['url.query']).toMatch(/^_state=REDACTED&digest=sha256(:|%3A)00$/);
    const probePaths = receiver.spans().map((s) => s.attributes['url.path']);
    expect(probePaths).not.toEqual(expect.arrayContaining(['/healthz']));
    expect(probePaths).not.toEqual(expect.arrayContaining(['/readyz']));
    expect(probePaths).not.toEqual(expect.arrayContaining(['/metrics']));
  });

  it('log lines written while handling a request carry its trace id', async () => {
    const caller = traceparent();
    await http(`${frontend.url}/v2/`, { headers: { traceparent: caller.header } });
    const line = await pollUntil(
      'the request log line',
      () => Promise.resolve(logLines(frontend).find((l) => l['msg'] === 'request' && l['trace_id'] === caller.traceId)),
      (l) => l !== undefined,
      { timeoutMs: 10000 },
    );
    expect(line?.['span_id']).toMatch(/^[0-9a-f]{16}$/);
    expect(line?.['trace_flags']).toBe('01');
  });

  it('/metrics exposes http.server.request.duration and it moves with traffic', async () => {
    const labels = { http_route: '/v2/*', http_request_method: 'GET', service_name: 'registry-frontend' };
    const before = sample((await http(`${frontend.url}/metrics`)).body, 'http_server_request_duration_count', labels);
    for (let i = 0; i < 3; i++) await http(`${frontend.url}/v2/library/app/tags/list`);
    const page = await http(`${frontend.url}/metrics`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(sample(page.body, 'http_server_request_duration_count', labels)).toBe(before + 3);
    expect(sample(page.body, 'http_server_request_duration_bucket', { ...labels, le: '+Inf' })).toBe(before + 3);
    // One family per name: Prometheus refuses a page that declares a metric twice.
    const types = page.body.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
    // The instrumentations' own metrics are there too (Postgres), and the HTTP instrumentations' duplicates are not.
    expect(page.body).toContain('db_client_operation_duration_count{');
    expect(page.body).not.toContain('otel_scope_name="@opentelemetry/instrumentation-http"');
  });

  it('pushes metrics over OTLP when an endpoint is configured', async () => {
    await pollUntil(
      'an OTLP/JSON metrics export',
      () =>
        Promise.resolve(receiver.requests().filter((r) => r.path === '/v1/metrics' && r.contentType.includes('json'))),
      (r) => r.length > 0,
      { timeoutMs: 15000 },
    );
  });

  it('exports OTLP/protobuf when asked, and a graceful stop flushes the spans still buffered', async () => {
    const protobufTraces = (): number =>
      receiver.requests().filter((r) => r.path === '/v1/traces' && r.contentType.includes('protobuf')).length;
    const res = await http(`${tokens.url}/no-such-endpoint`);
    expect(res.status).toBe(404);
    // The metrics endpoint answers on the token service's own port too.
    expect((await http(`${tokens.url}/metrics`)).body).toContain('service_name="token-service"');
    expect(protobufTraces()).toBe(0);
    expect(await stopProcess(tokens)).toBe(0);
    expect(protobufTraces()).toBeGreaterThan(0);
  });
});

describe('telemetry of the embedded default (one process)', () => {
  const operator = { id: randomUUID(), secret: randomBytes(24).toString('base64url') };
  let receiver: OtlpReceiver;
  let dataDir: string;
  let berth: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-otel-'));
    await chmod(dataDir, 0o711);
    berth = startApp(
      'berth',
      {
        BERTH_DATA_DIR: dataDir,
        BERTH_DATABASE_URL: '',
        BERTH_BOOTSTRAP_CLIENT_ID: operator.id,
        BERTH_BOOTSTRAP_CLIENT_SECRET: operator.secret,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      await freePort(),
    );
    await waitHealthy(berth);
  });

  afterAll(async () => {
    if (berth) await stopProcess(berth).catch(() => undefined);
    await receiver?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('traces a request through HTTP, Nest and the embedded Postgres, and serves /metrics once', async () => {
    const caller = traceparent();
    await http(`${berth.url}/v2/library/app/manifests/latest`, { headers: { traceparent: caller.header } });
    const spans = await pollUntil(
      'spans of the request',
      () => Promise.resolve(receiver.spans().filter((s) => s.traceId === caller.traceId)),
      (s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.scope === PG_SCOPE),
      { timeoutMs: 60000 },
    );
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['berth']));
    const page = await http(`${berth.url}/metrics`);
    expect(
      sample(page.body, 'http_server_request_duration_count', { http_route: '/v2/*', service_name: 'berth' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('a push is one trace in one process: the request, Postgres, the relay (in-process bus) and the dispatcher', async () => {
    const caller = traceparent();
    const auth = `Basic ${Buffer.from(`${operator.id}:${operator.secret}`).toString('base64')}`;
    await new RegistryPusher(berth.url, auth).push('traced/app', 'v1', { traceparent: caller.header });
    const spans = await pollUntil(
      'the push spans from the request to the consumer',
      () => Promise.resolve(receiver.spans().filter((s) => s.traceId === caller.traceId)),
      (s) =>
        s.some((x) => x.kind === SERVER) &&
        s.some((x) => x.scope === PG_SCOPE) &&
        s.some((x) => x.kind === PRODUCER && x.attributes['messaging.system'] === 'in_process') &&
        s.some((x) => x.kind === CONSUMER && x.attributes['messaging.consumer.group.name'] === 'webhook-dispatcher'),
      { timeoutMs: 30000 },
    );
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['berth']));
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !ids.has(s.parentSpanId ?? ''));
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({ kind: SERVER, parentSpanId: caller.spanId });
  });
});
