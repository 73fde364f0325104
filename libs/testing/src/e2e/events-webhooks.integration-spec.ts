import { signWebhookBody, webhookSigningKey } from '@berth/events';
import {
  BerthMetric,
  METRIC_CATALOG,
  prometheusName,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@berth/telemetry';
import { http, pollUntil, stackEnv } from '../index';
import { EventsBerth, metricValue, WebhookReceiver, type DeliveryRow, type ReceivedHook } from './events-helpers';

/**
 * Issue #6 acceptance against the real stack, services as processes (metadata-service runs the outbox relay):
 * pushes over HTTP reach exactly the matching webhooks with ACR's payload and custom headers; failures are retried
 * with growing delays and every attempt is logged; a dispatcher killed with SIGKILL mid-delivery loses nothing;
 * SSRF targets are refused at delivery. Issue #7: such a push is ONE trace across the three services, and the
 * event metrics move on /metrics.
 */

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

interface AcrPayload {
  id: string;
  timestamp: string;
  action: string;
  target: Record<string, unknown>;
  request: Record<string, unknown>;
}

const series = (m: (typeof BerthMetric)[keyof typeof BerthMetric]): string => prometheusName(METRIC_CATALOG[m]);
const DELIVERIES = series(BerthMetric.WebhookDeliveries);

const payload = (r: ReceivedHook): AcrPayload => JSON.parse(r.body) as AcrPayload;

describe('event backbone: pushes to webhooks through Kafka (distributed processes)', () => {
  let berth: EventsBerth;
  let receiver: WebhookReceiver;
  let otlp: OtlpReceiver;
  let registryId: string;
  const hooks: Record<string, string> = {};
  const masterKey = Buffer.from(stackEnv()['BERTH_MASTER_KEY'] ?? '', 'hex');

  const settled = (webhook: string, count: number, timeoutMs = 60000): Promise<DeliveryRow[]> =>
    pollUntil(
      `${count} settled deliveries to ${webhook}`,
      () => berth.deliveries(hooks[webhook] ?? ''),
      (rows) => rows.length >= count && rows.every((r) => r.status !== 'pending'),
      { timeoutMs, intervalMs: 200 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${berth.logs()}`);
    });

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    otlp = await startOtlpReceiver();
    berth = await EventsBerth.create('evhooks', stackEnv(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      // The default protocol: each service encodes its spans as they end and a worker thread sends them.
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRICS_EXPORTER: 'prometheus',
    });
    await Promise.all([berth.start('metadata-service'), berth.start('webhook-dispatcher')]);
    await berth.start('registry-frontend');
    registryId = await berth.defaultRegistryId();
    const add = async (
      name: string,
      path: string,
      spec: { scope?: string; actions?: string[]; customHeaders?: Record<string, string> } = {},
    ) => {
      hooks[name] = await berth.addWebhook(registryId, { name, serviceUri: `${receiver.url}${path}`, ...spec });
    };
    await add('all', '/all', { customHeaders: { Authorization: 'Bearer s3cret-token', 'X-Team': 'blue' } });
    await add('scoped', '/scoped', { scope: 'app/*:v*' });
    await add('otherscope', '/other', { scope: 'other:*' });
    await add('deleteonly', '/delete', { actions: ['delete'] });
    await add('chartonly', '/chart', { actions: ['chart_push', 'chart_delete'] });
    await add('flaky', '/flaky', { scope: 'flaky:*' });
    await add('crash', '/crash', { scope: 'crash/*:*' });
  });

  afterAll(async () => {
    await berth?.close();
    await receiver?.close();
    await otlp?.close();
  });

  it('(a) a push is delivered exactly once per matching webhook, with ACR payload, custom headers and signature', async () => {
    const pushed = await (await berth.pusher(registryId)).push('app/web', 'v1');
    const [all] = await settled('all', 1);
    const [scoped] = await settled('scoped', 1);
    expect(all).toMatchObject({ status: 'succeeded', attempts: 1, action: 'push' });
    expect(scoped?.event_id).toBe(all?.event_id);
    // One event, two deliveries: nothing recorded for the non-matching scope, actions or the other webhooks.
    const forEvent = await berth.sql<{ webhook_id: string }>(
      `SELECT webhook_id FROM webhook_deliveries WHERE event_id = $1`,
      [all?.event_id],
    );
    expect(forEvent.map((r) => r.webhook_id).sort()).toEqual([hooks['all'], hooks['scoped']].sort());
    for (const path of ['/other', '/delete', '/chart', '/flaky', '/crash']) expect(receiver.at(path)).toEqual([]);

    const [got] = receiver.at('/all');
    expect(receiver.at('/all')).toHaveLength(1);
    expect(receiver.at('/scoped')).toHaveLength(1);
    const body = payload(got as ReceivedHook);
    expect(body).toEqual({
      id: all?.event_id,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      action: 'push',
      target: {
        mediaType: pushed.mediaType,
        size: pushed.size,
        length: pushed.size,
        digest: pushed.digest,
        repository: 'app/web',
        tag: 'v1',
      },
      request: expect.objectContaining({ method: 'PUT', host: expect.any(String) as unknown }) as unknown,
    });
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['authorization']).toBe('Bearer s3cret-token');
    expect(got?.headers['x-team']).toBe('blue');
    expect(got?.headers['x-berth-signature']).toBe(
      signWebhookBody(webhookSigningKey(masterKey, hooks['all'] ?? '') ?? '', got?.body ?? ''),
    );
    // The log masks the custom headers (ACR shows `Authorization: ******`).
    expect(all?.request.headers).toMatchObject({
      Authorization: '******',
      'X-Team': '******',
      'Content-Type': 'application/json',
    });
    expect(JSON.stringify(all)).not.toContain('s3cret-token');
  });

  it('(issue 7) that push is one trace: frontend (HTTP, Postgres, storage), the relay and the dispatcher', async () => {
    const [all] = await berth.deliveries(hooks['all'] ?? '');
    const [row] = await berth.sql<{ traceparent: string }>(
      `SELECT payload->>'traceparent' AS traceparent FROM outbox_events WHERE id = $1`,
      [all?.event_id],
    );
    const traceId = row?.traceparent.split('-')[1] ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const s3Port = new URL(berth.env['BERTH_S3_ENDPOINT'] ?? 'http://x:1').port;
    const has = (spans: ReceivedSpan[], service: string, test: (s: ReceivedSpan) => boolean) =>
      spans.some((s) => s.service === service && test(s));
    const spans = await pollUntil(
      'the spans of the push from every service',
      () => Promise.resolve(otlp.spans().filter((s) => s.traceId === traceId)),
      (s) =>
        has(s, 'registry-frontend', (x) => x.kind === SERVER) &&
        has(s, 'registry-frontend', (x) => x.scope === '@opentelemetry/instrumentation-pg') &&
        has(s, 'registry-frontend', (x) => x.kind === CLIENT && JSON.stringify(x.attributes).includes(s3Port)) &&
        has(s, 'metadata-service', (x) => x.kind === PRODUCER) &&
        has(s, 'webhook-dispatcher', (x) => x.kind === CONSUMER && x.scope === 'berth') &&
        has(s, 'webhook-dispatcher', (x) => x.scope === '@opentelemetry/instrumentation-pg') &&
        has(s, 'webhook-dispatcher', (x) => x.kind === CLIENT && x.scope === '@opentelemetry/instrumentation-http'),
      { timeoutMs: 30000 },
    ).catch((e: Error) => {
      const mine = otlp.spans().filter((s) => s.traceId === traceId);
      throw new Error(`${e.message}\n${mine.map((s) => `${s.service} ${s.kind} ${s.scope} ${s.name}`).join('\n')}`);
    });
    // One trace, one root: the manifest PUT's server span; every other span hangs under a span of the trace.
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
    expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual([expect.stringMatching(/^registry-frontend PUT/)]);
    const producer = spans.find((s) => s.kind === PRODUCER && s.service === 'metadata-service');
    expect(producer?.attributes['berth.event_id']).toBe(all?.event_id);
    const consumer = spans.find((s) => s.kind === CONSUMER && s.scope === 'berth');
    expect(consumer?.attributes['messaging.consumer.group.name']).toBe('webhook-dispatcher');
  });

  it('(d) a receiver answering 500 then 200 gets retries with growing delays, and the log shows each attempt', async () => {
    receiver.script('/flaky', [500, 500]);
    await (await berth.pusher(registryId)).push('flaky', 'v1');
    const [row] = await settled('flaky', 1);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 3, error: null });
    expect(row?.response?.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    const got = receiver.at('/flaky');
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => payload(r).id))).toEqual(new Set([row?.event_id]));
    // The waits the dispatcher chose (its log) grow, and the receiver saw at least those gaps.
    const delays = berth
      .service('webhook-dispatcher')
      .output()
      .split('\n')
      .filter((l) => l.includes(row?.id ?? '-') && l.includes('"delayMs"'))
      .map((l) => (JSON.parse(l) as { delayMs: number | null }).delayMs)
      .filter((d): d is number => typeof d === 'number');
    expect(delays).toHaveLength(2);
    const [d1, d2] = delays as [number, number];
    expect(d2).toBeGreaterThanOrEqual(d1);
    expect(d1).toBeGreaterThanOrEqual(500); // 1 s with equal jitter: [0.5 s, 1 s]; then [1 s, 2 s]
    const [a, b, c] = got.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(d1 - 50);
    expect(c - b).toBeGreaterThanOrEqual(d2 - 50);
  });

  it('(b) kill -9 of the dispatcher mid-delivery, then a restart: every event delivered, the repeat has the same event id', async () => {
    receiver.holdNext('/crash');
    const pusher = await berth.pusher(registryId);
    await pusher.push('crash/app', '1');
    await pollUntil(
      'the first delivery in flight',
      () => Promise.resolve(receiver.at('/crash').length),
      (n) => n === 1,
      {
        timeoutMs: 60000,
      },
    );
    // The dispatcher is waiting on the receiver; more pushes queue behind it (same registry, same partition).
    for (let i = 2; i <= 6; i++) await pusher.push('crash/app', String(i));
    await berth.kill('webhook-dispatcher');
    await berth.start('webhook-dispatcher');
    const rows = await settled('crash', 6, 90000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    const got = receiver.at('/crash').map((r) => ({ r, id: payload(r).id, tag: payload(r).target['tag'] }));
    // Every event arrived; the one interrupted by the crash arrived again, identical.
    expect(new Set(got.map((g) => g.id))).toEqual(new Set(rows.map((r) => r.event_id)));
    const first = got.filter((g) => g.tag === '1');
    expect(first.length).toBeGreaterThanOrEqual(2);
    expect(new Set(first.map((g) => g.r.body)).size).toBe(1);
    expect(new Set(first.map((g) => g.r.headers['x-berth-signature'])).size).toBe(1);
    // Per registry, in push order.
    const order = got.filter((g, i) => got.findIndex((x) => x.id === g.id) === i).map((g) => g.tag);
    expect(order).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('(issue 7) /metrics shows deliveries by outcome, events published and consumed, outbox and consumer lag', async () => {
    const dispatcher = await http(`${berth.service('webhook-dispatcher').url}/metrics`);
    const relay = await http(`${berth.service('metadata-service').url}/metrics`);
    // The dispatcher restarted in (b): its counters start from that run, which delivered the five queued events.
    expect(
      metricValue(dispatcher.body, DELIVERIES, { berth_outcome: 'success', berth_webhook_action: 'push' }),
    ).toBeGreaterThanOrEqual(5);
    expect(
      metricValue(dispatcher.body, series(BerthMetric.EventsConsumed), { berth_outcome: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    const lag = dispatcher.body.split('\n').find((l) => l.startsWith(`${series(BerthMetric.ConsumerLag)}{`));
    expect(lag).toMatch(/berth_consumer_group="webhook-dispatcher".*berth_topic="berth\.registry\.events\.v1".* \d+$/);
    expect(
      metricValue(relay.body, series(BerthMetric.EventsPublished), {
        berth_outcome: 'success',
        berth_event_type: 'ImagePushed',
      }),
    ).toBeGreaterThanOrEqual(8);
    const gauge = (name: string) =>
      relay.body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    expect(gauge(series(BerthMetric.OutboxPending))).toMatch(/ 0$/);
    expect(gauge(series(BerthMetric.OutboxLag))).toMatch(/ 0$/);

    // Drive more traffic: a success and a failure move their counters.
    receiver.script('/all', [503]);
    const before = metricValue(dispatcher.body, DELIVERIES, { berth_outcome: 'success' });
    const beforeErr = metricValue(dispatcher.body, DELIVERIES, { berth_outcome: 'http_error' });
    await (await berth.pusher(registryId)).push('app/web', 'v2');
    await pollUntil(
      'the delivery counters to move',
      () => http(`${berth.service('webhook-dispatcher').url}/metrics`).then((r) => r.body),
      (text) =>
        metricValue(text, DELIVERIES, { berth_outcome: 'success' }) >= before + 2 &&
        metricValue(text, DELIVERIES, { berth_outcome: 'http_error' }) >= beforeErr + 1,
      { timeoutMs: 30000 },
    );
  });
  it('(e) 169.254.169.254, 10.0.0.1 and a name resolving to loopback are refused at delivery', async () => {
    // The allow-list opened 127.0.0.1 for the receivers; without it, `localhost` (127.0.0.1, the receiver!) is refused.
    await berth.stop('webhook-dispatcher');
    await berth.start('webhook-dispatcher', { BERTH_WEBHOOK_ALLOWED_PRIVATE: '' });
    const port = new URL(receiver.url).port;
    for (const [name, uri] of [
      ['meta', 'http://169.254.169.254/latest/meta-data/'],
      ['private', 'http://10.0.0.1/hook'],
      ['loopname', `http://localhost:${port}/loop`],
    ] as const) {
      hooks[name] = await berth.addWebhook(registryId, { name, serviceUri: uri, scope: 'ssrf:*' });
    }
    await (await berth.pusher(registryId)).push('ssrf', 'v1');
    for (const [name, address] of [
      ['meta', '169.254.169.254'],
      ['private', '10.0.0.1'],
      ['loopname', '127.0.0.1'],
    ] as const) {
      const [row] = await settled(name, 1);
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      expect(row?.error).toContain(`SSRF protection`);
      expect(row?.error).toContain(address);
      expect(row?.response?.eventResponseMessage).toBeUndefined();
    }
    expect(receiver.at('/loop')).toEqual([]);
    // `all` (every push, to the receiver on 127.0.0.1) is refused too now: four refusals, counted as `blocked`.
    const metrics = await http(`${berth.service('webhook-dispatcher').url}/metrics`);
    expect(metricValue(metrics.body, DELIVERIES, { berth_outcome: 'blocked', berth_webhook_action: 'push' })).toBe(4);
  });
});
