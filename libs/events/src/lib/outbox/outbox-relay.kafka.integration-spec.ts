import type { DataSource } from 'typeorm';
import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.adapter';
import type { EventBus } from '../event-bus.port';
import { pollUntil } from '../testing/poll-until.util';
import { OutboxRelay } from './outbox-relay';
import { CapturingLogger } from './testing/capturing-logger';
import { KafkaNames, stackBrokers } from './testing/kafka-test-support';
import { createTestDatabase } from './testing/outbox-test-database';
import type { TestDatabase } from './testing/outbox-test-database';
import { expectedByKey, interleavedEvents, Recorder, unpublishedCount, writeEvents } from './testing/outbox-fixtures';
import { freePort, TcpGate } from './testing/tcp-gate';

const DEADLINE_MS = 60_000;

describe(`${OutboxRelay.name} (Postgres, Kafka)`, () => {
  const brokers = stackBrokers();
  const names = new KafkaNames('outbox-kafka-it');
  let db: TestDatabase;
  let ds: DataSource;
  const buses: EventBus[] = [];
  const relays: OutboxRelay[] = [];
  const recorders: Recorder[] = [];

  const kafka = (clientId: string, bootstrap = brokers): KafkaEventBus => {
    const bus = new KafkaEventBus({ brokers: bootstrap, clientId, defaultPartitions: 3 });
    buses.push(bus);
    return bus;
  };
  const relay = (dataSource: DataSource, bus: EventBus, logger?: CapturingLogger): OutboxRelay => {
    const r = new OutboxRelay(dataSource, bus, {
      pollIntervalMs: 100,
      backoff: { initialMs: 50, maxMs: 500 },
      purgeIntervalMs: 0,
      batchSize: 20,
      logger,
    });
    relays.push(r);
    return r;
  };
  const record = async (bus: EventBus, topic: string): Promise<Recorder> => {
    const recorder = await Recorder.on(bus, topic, names.group());
    recorders.push(recorder);
    return recorder;
  };

  beforeAll(async () => {
    db = await createTestDatabase('berth_events_outbox_kafka');
    ds = db.dataSource;
  });

  afterEach(async () => {
    await Promise.allSettled(relays.splice(0).map((r) => r.stop()));
    await Promise.allSettled(recorders.splice(0).map((r) => r.stop()));
    await Promise.allSettled(buses.splice(0).map((b) => b.close()));
    await ds.query('DELETE FROM outbox_events');
  });

  afterAll(async () => {
    await db?.drop();
    await names.cleanup(brokers);
  });

  it('two relays (two processes) publish 3 keys × 50 events to Kafka: each once, in order per key', async () => {
    const topic = names.topic();
    const consumerBus = kafka('outbox-kafka-it-consumer');
    await consumerBus.ensureTopics([{ name: topic, partitions: 3 }]);
    const recorder = await record(consumerBus, topic);
    const a = relay(ds, kafka('outbox-kafka-it-relay-a'));
    const b = relay(await db.open({ applicationName: 'relay-b' }), kafka('outbox-kafka-it-relay-b'));
    a.start();
    b.start();

    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 50);
    await writeEvents(ds, topic, events, { perTransaction: 5 });
    await pollUntil('all 150 events from Kafka', () => recorder.messages.length >= 150, DEADLINE_MS);
    await pollUntil('the outbox to be drained', async () => (await unpublishedCount(ds)) === 0, DEADLINE_MS);

    expect(recorder.messages).toHaveLength(150);
    expect(recorder.distinct()).toBe(150);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    expect(a.status().publishedTotal + b.status().publishedTotal).toBe(150);
  });

  it('Kafka unreachable: the events wait in the outbox, then go out in order once it is back', async () => {
    const topic = names.topic();
    const consumerBus = kafka('outbox-kafka-it-consumer');
    await consumerBus.ensureTopics([{ name: topic, partitions: 3 }]);
    const recorder = await record(consumerBus, topic);
    const [host = '127.0.0.1', port = '9092'] = (brokers[0] ?? '').split(':');
    const gate = new TcpGate(await freePort(), { host, port: Number(port) });
    const logger = new CapturingLogger();
    const down = relay(ds, kafka('outbox-kafka-it-gated', [`127.0.0.1:${gate.port}`]), logger);
    try {
      down.start();
      const events = interleavedEvents(['reg-a', 'reg-b'], 10);
      await writeEvents(ds, topic, events);

      await pollUntil('a failed publish', () => down.status().backingOff.length > 0, DEADLINE_MS, 100);
      expect(logger.matching('warn', /the events stay in the outbox/).length).toBeGreaterThanOrEqual(1);
      expect(await unpublishedCount(ds)).toBe(20);
      expect(recorder.messages).toHaveLength(0);

      await gate.open();
      await pollUntil('every event once Kafka is reachable', () => recorder.messages.length >= 20, DEADLINE_MS);
      await pollUntil('the outbox to be drained', async () => (await unpublishedCount(ds)) === 0, DEADLINE_MS);
      // Nothing reached Kafka while it was unreachable, so nothing is duplicated either.
      expect(recorder.messages).toHaveLength(20);
      expect(recorder.distinct()).toBe(20);
      expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    } finally {
      await down.stop();
      await gate.close();
    }
  });
});
