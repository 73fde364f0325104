import { BerthMetric, METRIC_CATALOG, prometheusName } from '@berth/telemetry';
import { http, pollUntil, PrivateStack } from '../index';
import { EventsBerth, metricValue, WebhookReceiver } from './events-helpers';

/**
 * Issue #6: Kafka stopped for 30 s while 50 pushes happen. Every push succeeds (the frontend needs no Kafka: events
 * wait in the Postgres outbox), and once Kafka is back all 50 are delivered, in push order for the registry.
 * On a private stack (own ports and data), so stopping Kafka disturbs no other test.
 */
const stack = new PrivateStack('events-kafka', {
  postgres: 25641,
  redis: 26641,
  kafka: 29641,
  kafkaController: 29642,
  minio: 29643,
  minioConsole: 29644,
});

const OUTAGE_MS = 30_000;
const PUSHES = 50;
const PENDING = prometheusName(METRIC_CATALOG[BerthMetric.OutboxPending]);

describe('a Kafka outage during pushes', () => {
  let berth: EventsBerth;
  let receiver: WebhookReceiver;
  let registryId: string;

  beforeAll(async () => {
    stack.run('start');
    receiver = await WebhookReceiver.start();
    berth = await EventsBerth.create('evkafka', stack.settings(), { OTEL_SDK_DISABLED: 'true' });
    await Promise.all([berth.start('metadata-service'), berth.start('webhook-dispatcher')]);
    await berth.start('registry-frontend');
    registryId = await berth.defaultRegistryId();
    await berth.addWebhook(registryId, { name: 'all', serviceUri: `${receiver.url}/all`, scope: 'outage/*:*' });
  }, 300_000);

  afterAll(async () => {
    await berth?.close();
    await receiver?.close();
    stack.run('stop');
  }, 120_000);

  it('every push succeeds while Kafka is down for 30 s; all 50 events are delivered after, in order', async () => {
    const pusher = await berth.pusher(registryId);
    // The path works end to end before the outage.
    await pusher.push('outage/app', 'warmup');
    await pollUntil(
      'the warm-up delivery',
      () => Promise.resolve(receiver.at('/all').length),
      (n) => n === 1,
      {
        timeoutMs: 60_000,
      },
    );

    stack.run('stop', 'kafka');
    const stoppedAt = Date.now();
    try {
      for (let i = 1; i <= PUSHES; i++) await pusher.push('outage/app', `t${i}`);
      expect(Date.now() - stoppedAt).toBeLessThan(OUTAGE_MS); // the pushes all happened during the outage
      // Nothing can have been delivered: the events wait in the outbox.
      const relay = await pollUntil(
        'the outbox gauge to show the backlog',
        () => http(`${berth.service('metadata-service').url}/metrics`),
        (r) => metricValue(r.body, PENDING) === PUSHES,
        { timeoutMs: 10_000 },
      );
      expect(metricValue(relay.body, PENDING)).toBe(PUSHES);
      expect(receiver.at('/all')).toHaveLength(1);
      // Keep Kafka away for the full 30 s the acceptance names.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
      expect(receiver.at('/all')).toHaveLength(1);
    } finally {
      stack.run('start', 'kafka');
    }

    await pollUntil(
      'all 50 deliveries after Kafka returned',
      () => Promise.resolve(new Set(receiver.at('/all').map((r) => r.body)).size),
      (n) => n === PUSHES + 1,
      { timeoutMs: 180_000, intervalMs: 500 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${berth.logs()}`);
    });
    const tags = receiver
      .at('/all')
      .map((r) => JSON.parse(r.body) as { id: string; target: { tag: string } })
      .filter((p, i, all) => all.findIndex((q) => q.id === p.id) === i)
      .map((p) => p.target.tag);
    expect(tags).toEqual(['warmup', ...Array.from({ length: PUSHES }, (_, i) => `t${i + 1}`)]);
    const rows = await berth.sql<{ status: string }>(`SELECT status FROM webhook_deliveries`);
    expect(rows).toHaveLength(PUSHES + 1);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
  }, 400_000);
});
