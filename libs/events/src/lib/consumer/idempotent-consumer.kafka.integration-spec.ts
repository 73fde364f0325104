import type { DataSource } from 'typeorm';
import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.adapter';
import type { EventBus } from '../event-bus.port';
import { encodeEventEnvelope } from '../event-envelope.codec';
import { OutboxRelay } from '../outbox/outbox-relay';
import { KafkaNames, stackBrokers } from '../outbox/testing/kafka-test-support';
import { expectedByKey, interleavedEvents, Recorder, writeEvents } from '../outbox/testing/outbox-fixtures';
import type { TestEventData } from '../outbox/testing/outbox-fixtures';
import { createTestDatabase } from '../outbox/testing/outbox-test-database';
import type { TestDatabase } from '../outbox/testing/outbox-test-database';
import { pollUntil } from '../testing/poll-until.util';
import { DeadLetterHeaders } from './dead-letter';
import { consume } from './idempotent-consumer';
import type { IdempotentConsumer } from './idempotent-consumer';

const DEADLINE_MS = 60_000;

describe('outbox → relay → Kafka → IdempotentConsumer', () => {
  const brokers = stackBrokers();
  const names = new KafkaNames('consumer-kafka-it');
  let db: TestDatabase;
  let ds: DataSource;
  const buses: EventBus[] = [];

  const kafka = (clientId: string): KafkaEventBus => {
    const bus = new KafkaEventBus({
      brokers,
      clientId,
      defaultPartitions: 3,
      redelivery: { initialMs: 50, maxMs: 500 },
    });
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    db = await createTestDatabase('berth_events_consumer_kafka');
    ds = db.dataSource;
    await ds.query(
      `CREATE TABLE consumer_effects (id serial PRIMARY KEY, event_id uuid NOT NULL, registry_id text NOT NULL, n int NOT NULL)`,
    );
  });

  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    await db?.drop();
    await names.cleanup(brokers);
  });

  it('every event takes effect once, in order per registry; the poison one lands on the dead-letter topic', async () => {
    const topic = names.topic();
    const dlq = `${topic}.dlq`;
    names.topics.push(dlq);
    const bus = kafka('consumer-kafka-it');
    await bus.ensureTopics([
      { name: topic, partitions: 3 },
      { name: dlq, partitions: 3 },
    ]);
    const dead = await Recorder.on(bus, dlq, names.group());
    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 10);
    const poison = events[13];
    if (!poison) throw new Error('fixture');

    const relay = new OutboxRelay(ds, kafka('consumer-kafka-it-relay'), { pollIntervalMs: 100, purgeIntervalMs: 0 });
    let consumer: IdempotentConsumer<TestEventData> | undefined;
    try {
      consumer = await consume<TestEventData>(bus, {
        topics: topic,
        groupId: names.group(),
        dataSource: ds,
        deadLetterTopic: dlq,
        maxAttempts: 3,
        backoff: { initialMs: 20, maxMs: 100 },
        fromBeginning: true,
        handler: async (e, { em }) => {
          if (e.id === poison.id) throw new Error('cannot handle this one');
          await em.query('INSERT INTO consumer_effects (event_id, registry_id, n) VALUES ($1, $2, $3)', [
            e.id,
            e.registryId,
            e.data.n,
          ]);
        },
      });
      relay.start();
      await writeEvents(ds, topic, events, { perTransaction: 6 });
      const handled = consumer;
      await pollUntil(
        '29 events handled and one dead-lettered',
        () => handled.stats().handled === 29 && dead.messages.length === 1,
        DEADLINE_MS,
      );

      // Kafka redelivers an event (a rebalance, a crash before the commit): it is skipped.
      const again = events[4];
      if (!again) throw new Error('fixture');
      await bus.publish(topic, [encodeEventEnvelope(again)]);
      await pollUntil('the redelivered event to be skipped', () => handled.stats().duplicates === 1, DEADLINE_MS);

      const rows = (await ds.query('SELECT event_id, registry_id FROM consumer_effects ORDER BY id')) as Array<{
        event_id: string;
        registry_id: string;
      }>;
      expect(rows).toHaveLength(29);
      const expected = expectedByKey(events.filter((e) => e.id !== poison.id));
      for (const [key, ids] of expected) {
        expect(rows.filter((r) => r.registry_id === key).map((r) => r.event_id)).toEqual(ids);
      }
      const [letter] = dead.messages;
      expect(letter?.key).toBe(poison.registryId);
      expect(letter?.headers).toMatchObject({
        [DeadLetterHeaders.Error]: 'Error: cannot handle this one',
        [DeadLetterHeaders.Attempts]: '3',
        [DeadLetterHeaders.ConsumerGroup]: handled.groupId,
        [DeadLetterHeaders.OriginalTopic]: topic,
      });
    } finally {
      await consumer?.stop();
      await dead.stop();
      await relay.stop();
    }
  });
});
