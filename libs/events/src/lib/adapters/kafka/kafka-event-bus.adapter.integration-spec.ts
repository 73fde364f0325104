import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel } from 'kafkajs';
import { EventBusClosedError } from '../../errors/event-bus-closed.error';
import { EVENT_BUS } from '../../event-bus.port';
import type { EventBus } from '../../event-bus.port';
import { EventsModule } from '../../events.module';
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import { eventBusContract } from '../../testing/event-bus.contract';
import { KafkaEventBus } from './kafka-event-bus.adapter';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the integration tests through Jest's integration project (its globalSetup starts the local stack) or export the settings of \`bash deploy/local/stack.sh env\``,
    );
  }
  return value;
}

const brokers = requireEnv('BERTH_KAFKA_BROKERS').split(',');
const clientId = `berth-events-it-${randomUUID().slice(0, 8)}`;

/** Deletes the suite's topics and consumer groups (best effort: a group still closing may refuse). */
async function cleanup(created: { topics: string[]; groups: string[] }): Promise<void> {
  const admin = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = created.topics.filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    const groups = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const toDelete = created.groups.filter((g) => groups.has(g));
    if (toDelete.length > 0) await admin.deleteGroups(toDelete).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

eventBusContract('KafkaEventBus (local Kafka)', {
  create: () =>
    Promise.resolve(
      new KafkaEventBus({ brokers, clientId, defaultPartitions: 3, redelivery: { initialMs: 100, maxMs: 1_000 } }),
    ),
  cleanup,
  timeoutMs: 30_000,
});

describe(KafkaEventBus.name, () => {
  it('ping rejects within 2.5 s, naming Kafka, when no broker listens', async () => {
    const bus = new KafkaEventBus({ brokers: ['127.0.0.1:1'], clientId });
    const started = Date.now();
    const error = await bus.ping().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error).toBeInstanceOf(EventBusUnavailableError);
    expect((error as Error).message).toMatch(/kafka/i);
    // Still bounded on the next call, and close() releases everything.
    const again = Date.now();
    await expect(bus.ping()).rejects.toThrow(/kafka/i);
    expect(Date.now() - again).toBeLessThan(2_500);
    await bus.close();
  });

  it('ping succeeds again and again on one adapter', async () => {
    const bus = new KafkaEventBus({ brokers, clientId });
    for (let i = 0; i < 3; i++) await expect(bus.ping()).resolves.toBeUndefined();
    await bus.close();
  });

  it("EventsModule.forRoot({ driver: 'kafka' }) provides a working bus and closes it on shutdown", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ driver: 'kafka', kafka: { brokers, clientId } })],
    }).compile();
    await moduleRef.init();
    const bus = moduleRef.get<EventBus>(EVENT_BUS);
    expect(bus).toBeInstanceOf(KafkaEventBus);
    await expect(bus.ping()).resolves.toBeUndefined();
    await moduleRef.close();
    await expect(bus.ping()).rejects.toBeInstanceOf(EventBusClosedError);
  });

  it('keeps namespaces apart: same topic and group names, separate streams; consumers see plain topic names; lag per group', async () => {
    const topic = `ns-it-${randomUUID().slice(0, 8)}`;
    const [a, b] = ['nsa', 'nsb'].map(
      (n) =>
        new KafkaEventBus({ brokers, clientId, namespace: `${n}${randomUUID().slice(0, 6)}`, defaultPartitions: 1 }),
    ) as [KafkaEventBus, KafkaEventBus];
    const got: Record<'a' | 'b', Array<{ topic: string; value: string }>> = { a: [], b: [] };
    try {
      await a.ensureTopics([{ name: topic }]);
      await expect(b.publish(topic, [{ key: 'k', value: 'x' }])).rejects.toThrow(/does not exist|unknown/i);
      await b.ensureTopics([{ name: topic }]);
      const subs = await Promise.all(
        (['a', 'b'] as const).map((n) =>
          (n === 'a' ? a : b).subscribe(topic, { groupId: 'same-group', fromBeginning: true }, (m) => {
            got[n].push({ topic: m.topic, value: m.value.toString() });
            return Promise.resolve();
          }),
        ),
      );
      await a.publish(topic, [{ key: 'k', value: 'for a' }]);
      await b.publish(topic, [{ key: 'k', value: 'for b' }]);
      const deadline = Date.now() + 20_000;
      while ((got.a.length < 1 || got.b.length < 1) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(got.a).toEqual([{ topic, value: 'for a' }]);
      expect(got.b).toEqual([{ topic, value: 'for b' }]);
      await Promise.all(subs.map((s) => s.stop()));
      const lag = await a.consumerLag('same-group', [topic]);
      expect(lag).toEqual([{ topic, lag: 0 }]);
      await a.publish(topic, [{ key: 'k', value: 'later' }]);
      expect(await a.consumerLag('same-group', [topic])).toEqual([{ topic, lag: 1 }]);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
});
