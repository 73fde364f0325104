import { metrics } from '@opentelemetry/api';
import { BerthMetricAttr, BerthSpanAttr, HttpMetricAttr } from './attributes';
import { berthMetrics, outcomeOfStatus, type BerthMetrics } from './berth-metrics';
import {
  allPrometheusSeries,
  BerthMetric,
  METRIC_CATALOG,
  prometheusLabel,
  prometheusName,
  prometheusSeries,
  type BerthMetricName,
} from './metric-names';
import { ensureMetrics, renderPrometheusMetrics, shutdownTelemetry } from './telemetry';

/** Records every Berth metric once (the gauges through their observe callbacks). */
function recordEverything(m: BerthMetrics): Array<() => void> {
  m.httpServerRequest({ method: 'GET', route: '/v2/*', status: 200, scheme: 'http', seconds: 0.003 });
  m.push({ artifact: 'manifest', outcome: 'success', region: 'eastus', sku: 'Premium' });
  m.pull({ artifact: 'blob', outcome: 'server_error', region: 'eastus' });
  m.bytesReceived(1024, { artifact: 'blob', region: 'eastus' });
  m.bytesSent(2048, { artifact: 'blob', region: 'eastus', delivery: 'redirect' });
  m.uploadFinished(1.5, { outcome: 'success', region: 'eastus' });
  m.throttled({ operationClass: 'write', sku: 'Basic' });
  m.quotaRefused({ quota: 'storage', sku: 'Basic' });
  m.tokenIssued({ kind: 'access', grantType: 'refresh_token' });
  m.tokenFailed({ grantType: 'password', reason: 'invalid_credentials' });
  m.webhookDelivery(0.2, { outcome: 'success', action: 'push' });
  m.eventPublished({ eventType: 'push', topic: 'registry-events', outcome: 'success' });
  m.eventConsumed({
    group: 'webhook-dispatcher',
    topic: 'registry-events',
    outcome: 'success',
    occurredAt: new Date(Date.now() - 1500),
  });
  return [
    m.observeOutbox(() => ({ lagSeconds: 3, pending: 7 })),
    m.observeConsumerLag(() => [{ group: 'scan-worker', topic: 'registry-events', lag: 12 }]),
  ];
}

function seriesLines(text: string, series: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${series}{`) || l.startsWith(`${series} `));
}

describe('metric names', () => {
  it('the catalog has one definition per name, under its own name', () => {
    const names = Object.values(BerthMetric);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(METRIC_CATALOG).sort()).toEqual([...names].sort());
    for (const [name, d] of Object.entries(METRIC_CATALOG)) expect(d.name).toBe(name);
  });

  it('Berth metrics are berth.*; the HTTP one is the semantic-convention name with unit seconds', () => {
    for (const name of Object.values(BerthMetric)) {
      if (name === BerthMetric.HttpServerRequestDuration) continue;
      expect(name).toMatch(/^berth\.[a-z_.]+$/);
    }
    expect(METRIC_CATALOG['http.server.request.duration']).toMatchObject({ kind: 'histogram', unit: 's' });
  });

  it('metric attributes are bounded: declared metric attributes only, never an identifier', () => {
    const allowed = new Set<string>([...Object.values(BerthMetricAttr), ...Object.values(HttpMetricAttr)]);
    const identifiers = new Set<string>(Object.values(BerthSpanAttr));
    for (const d of Object.values(METRIC_CATALOG)) {
      for (const a of d.attributes) {
        expect(allowed.has(a)).toBe(true);
        expect(identifiers.has(a)).toBe(false);
      }
    }
    for (const a of Object.values(BerthMetricAttr)) expect(a).toMatch(/^berth\.[a-z_]+$/);
    for (const a of Object.values(BerthSpanAttr)) expect(a).toMatch(/^berth\.[a-z_]+$/);
  });

  it('maps to Prometheus names the way the exporter writes them', () => {
    expect(prometheusLabel('http.response.status_code')).toBe('http_response_status_code');
    expect(prometheusName(METRIC_CATALOG['berth.registry.pushes'])).toBe('berth_registry_pushes_total');
    expect(prometheusSeries(METRIC_CATALOG['http.server.request.duration'])).toEqual([
      'http_server_request_duration_bucket',
      'http_server_request_duration_sum',
      'http_server_request_duration_count',
    ]);
    expect(prometheusSeries(METRIC_CATALOG['berth.outbox.lag'])).toEqual(['berth_outbox_lag']);
    expect(allPrometheusSeries()).toContain('berth_events_consumer_lag');
  });

  it('classifies statuses for the availability SLO: 4xx is the client, 5xx the server', () => {
    expect([200, 201, 202, 206, 307, 404, 429, 500, 503].map(outcomeOfStatus)).toEqual([
      'success',
      'success',
      'success',
      'success',
      'success',
      'client_error',
      'client_error',
      'server_error',
      'server_error',
    ]);
  });
});

describe('recording and /metrics exposition', () => {
  let stops: Array<() => void> = [];
  beforeEach(() => {
    ensureMetrics('unit-test');
  });
  afterEach(async () => {
    for (const s of stops) s();
    stops = [];
    await shutdownTelemetry();
  });

  it('every catalog metric appears on /metrics under its predicted Prometheus series names', async () => {
    stops = recordEverything(berthMetrics());
    const text = await renderPrometheusMetrics();
    for (const d of Object.values(METRIC_CATALOG)) {
      for (const series of prometheusSeries(d))
        expect({ series, lines: seriesLines(text, series).length > 0 }).toEqual({ series, lines: true });
    }
    expect(text).toContain('service_name="unit-test"');
    expect(text).toMatch(/berth_outbox_pending\{[^}]*\} 7/);
    expect(text).toMatch(/berth_events_consumer_lag\{[^}]*berth_consumer_group="scan-worker"[^}]*\} 12/);
  });

  it('writes each metric family once (one TYPE line per name)', async () => {
    stops = recordEverything(berthMetrics());
    const types = (await renderPrometheusMetrics()).split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
  });

  it('labels HTTP durations with the route, method and status, in seconds buckets', async () => {
    const m = berthMetrics();
    m.httpServerRequest({ method: 'get', route: '/v2/*', status: 503, scheme: 'https', seconds: 0.004 });
    m.httpServerRequest({ method: 'BREW', status: 404, scheme: 'http', seconds: 0.02 });
    const text = await renderPrometheusMetrics();
    const count = seriesLines(text, 'http_server_request_duration_count');
    expect(count).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /http_request_method="GET",http_route="\/v2\/\*",http_response_status_code="503",url_scheme="https",error_type="503".*\} 1$/,
        ),
        expect.stringMatching(/http_request_method="_OTHER",http_response_status_code="404",url_scheme="http".*\} 1$/),
      ]),
    );
    expect(text).toMatch(/http_server_request_duration_bucket\{[^}]*le="0.005"\} 1/);
  });

  it('drops attributes a metric does not declare (a repository name or digest never becomes a label)', async () => {
    const meter = metrics.getMeterProvider().getMeter('berth');
    meter.createCounter(BerthMetric.RegistryPulls).add(1, {
      [BerthMetricAttr.Artifact]: 'manifest',
      [BerthMetricAttr.Outcome]: 'success',
      [BerthSpanAttr.Repository]: 'library/secret-project',
      [BerthSpanAttr.Digest]: 'sha256:abc',
    });
    const text = await renderPrometheusMetrics();
    const lines = seriesLines(text, 'berth_registry_pulls_total');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('berth_artifact="manifest"');
    expect(text).not.toContain('secret-project');
    expect(text).not.toContain('berth_digest');
  });

  it('samples gauges on every collection, until their observer is removed', async () => {
    let calls = 0;
    const stop = berthMetrics().observeOutbox(() => {
      calls += 1;
      return { lagSeconds: 9, pending: 1 };
    });
    expect(await renderPrometheusMetrics()).toMatch(/berth_outbox_lag\{[^}]*\} 9/);
    const afterFirst = calls;
    await renderPrometheusMetrics();
    expect(calls).toBeGreaterThan(afterFirst);
    stop();
    const afterStop = calls;
    await renderPrometheusMetrics();
    expect(calls).toBe(afterStop);
  });

  it('follows the meter provider: a recorder taken before telemetry started is a no-op, a fresh call records', async () => {
    await shutdownTelemetry();
    const before: BerthMetricName = BerthMetric.TokensIssued;
    berthMetrics().tokenIssued({ kind: 'access', grantType: 'password' });
    ensureMetrics('unit-test');
    expect(await renderPrometheusMetrics()).not.toContain(prometheusName(METRIC_CATALOG[before]));
    berthMetrics().tokenIssued({ kind: 'access', grantType: 'password' });
    expect(await renderPrometheusMetrics()).toContain('berth_token_issued_total{');
  });
});
