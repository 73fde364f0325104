import { randomUUID } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import type { Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createDataSource, DATA_SOURCE } from '@berth/db';
import type { DataSource } from 'typeorm';
import { InProcessEventBus } from '../adapters/in-process/in-process-event-bus.adapter';
import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { InvalidTopicError } from '../errors/invalid-topic.error';
import { EVENT_BUS } from '../event-bus.port';
import type { EventBus } from '../event-bus.port';
import { decodeEventEnvelope, EventHeaders } from '../event-envelope.codec';
import { createEventEnvelope } from '../event-envelope.model';
import { pollUntil } from '../testing/poll-until.util';
import { OutboxRelay } from './outbox-relay';
import { OutboxRelayModule, OutboxRelayService } from './outbox-relay.module';
import type { OutboxRelayOptions } from './outbox-relay.options';
import { notifyOutbox, writeOutboxEvent } from './outbox-writer';
import { OUTBOX_MAX_EVENT_BYTES } from './outbox.constants';
import { CapturingLogger } from './testing/capturing-logger';
import { ControllableBus } from './testing/controllable-bus';
import { createTestDatabase } from './testing/outbox-test-database';
import type { TestDatabase } from './testing/outbox-test-database';
import {
  expectedByKey,
  interleavedEvents,
  Recorder,
  TRACEPARENT,
  unpublishedCount,
  writeEvents,
} from './testing/outbox-fixtures';

const DEADLINE_MS = 15_000;
const FAST: OutboxRelayOptions = { pollIntervalMs: 50, backoff: { initialMs: 20, maxMs: 100 }, purgeIntervalMs: 0 };

describe(`${OutboxRelay.name} (Postgres, in-process bus)`, () => {
  let db: TestDatabase;
  let ds: DataSource;
  const relays: OutboxRelay[] = [];
  const recorders: Recorder[] = [];
  const buses: EventBus[] = [];

  const newBus = async (...topics: string[]): Promise<InProcessEventBus> => {
    const bus = new InProcessEventBus({ defaultPartitions: 3 });
    buses.push(bus);
    await bus.ensureTopics(topics.map((name) => ({ name })));
    return bus;
  };
  const newRelay = (dataSource: DataSource, bus: EventBus, options: OutboxRelayOptions = {}): OutboxRelay => {
    const relay = new OutboxRelay(dataSource, bus, { ...FAST, ...options });
    relays.push(relay);
    return relay;
  };
  const record = async (bus: EventBus, topic: string): Promise<Recorder> => {
    const recorder = await Recorder.on(bus, topic);
    recorders.push(recorder);
    return recorder;
  };
  const topicName = (): string => `outbox-it-${randomUUID()}`;

  beforeAll(async () => {
    db = await createTestDatabase('berth_events_outbox');
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
  });

  it('publishes 3 keys × 50 events in seq order per key, each once, with the codec headers', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 50);
    await writeEvents(ds, topic, events, { perTransaction: 15 });

    const logger = new CapturingLogger();
    const relay = newRelay(ds, bus, { batchSize: 20, logger });
    relay.start();
    await pollUntil('all 150 events on the bus', () => recorder.messages.length >= 150, DEADLINE_MS);

    expect(recorder.messages).toHaveLength(150);
    expect(recorder.distinct()).toBe(150);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    const first = recorder.messages[0];
    const envelope = decodeEventEnvelope(first ?? { value: '' });
    expect(first?.headers).toMatchObject({
      [EventHeaders.Id]: envelope.id,
      [EventHeaders.Type]: 'TestEvent',
      [EventHeaders.Version]: '1',
      [EventHeaders.ContentType]: 'application/json',
      [EventHeaders.Traceparent]: TRACEPARENT,
    });
    expect(envelope).toEqual(events.find((e) => e.id === envelope.id));
    await pollUntil('the outbox to be drained', async () => (await relay.lag()).count === 0, DEADLINE_MS);
    expect(relay.status().publishedTotal).toBe(150);
    // Claims follow the numeric seq (a backlog beyond 9 rows once sorted as text): the guard never had to step in.
    expect(logger.matching('warn', /held back/)).toEqual([]);
  });

  it('two relays at once: every event exactly once, in order per key, while writers keep writing', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    const other = await db.open({ applicationName: 'relay-b' });
    const a = newRelay(ds, bus, { batchSize: 7 });
    const b = newRelay(other, bus, { batchSize: 7 });
    a.start();
    b.start();
    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 50);
    await writeEvents(ds, topic, events, { perTransaction: 5 });

    await pollUntil('all 150 events', () => recorder.messages.length >= 150, DEADLINE_MS);
    await pollUntil('the outbox to be drained', async () => (await unpublishedCount(ds)) === 0, DEADLINE_MS);
    expect(recorder.messages).toHaveLength(150);
    expect(recorder.distinct()).toBe(150);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    expect(a.status().publishedTotal + b.status().publishedTotal).toBe(150);
  });

  it('a relay that dies between publishing and committing: the other republishes; duplicates only, no loss, no reordering', async () => {
    const topic = topicName();
    const inner = await newBus(topic);
    const recorder = await record(inner, topic);
    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 20);
    await writeEvents(ds, topic, events, { perTransaction: 20 });

    const doomedDs = await db.open({ applicationName: 'relay-doomed' });
    const hanging = new ControllableBus(inner);
    hanging.hold();
    const doomedLog = new CapturingLogger();
    const doomed = newRelay(doomedDs, hanging, { batchSize: 25, listen: false, logger: doomedLog });
    doomed.start();
    await pollUntil('the doomed relay to be publishing its batch', () => hanging.publishCalls > 0, DEADLINE_MS);

    // The process "dies": its connection is gone, so its transaction, row locks and leadership go with it.
    await ds.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'relay-doomed'`);
    const survivor = newRelay(ds, inner, { batchSize: 25 });
    survivor.start();
    await pollUntil('every event from the survivor', () => recorder.distinct() === 60, DEADLINE_MS);

    // The dead relay's publish, still in flight, finally lands: duplicates after the survivor's copies.
    hanging.release();
    await pollUntil('the late duplicates', () => recorder.messages.length >= 85, DEADLINE_MS);
    await pollUntil(
      'the doomed relay to find it could not mark its batch',
      () => doomedLog.matching('warn', /could not be marked/).length > 0,
      DEADLINE_MS,
    );
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    const ids = recorder.ids();
    const duplicated = new Set(ids.filter((id, i) => ids.indexOf(id) !== i));
    expect([...duplicated].sort()).toEqual(
      events
        .slice(0, 25)
        .map((e) => e.id)
        .sort(),
    );
    expect(recorder.messages).toHaveLength(85);
    await pollUntil('every row marked by the survivor', async () => (await unpublishedCount(ds)) === 0, DEADLINE_MS);
  });

  it('bus down: rows stay unpublished while the relay backs off, then all are published in order', async () => {
    const topic = topicName();
    const inner = await newBus(topic);
    const recorder = await record(inner, topic);
    const bus = new ControllableBus(inner);
    bus.down = true;
    const logger = new CapturingLogger();
    const relay = newRelay(ds, bus, { logger });
    relay.start();
    const events = interleavedEvents(['reg-a', 'reg-b', 'reg-c'], 10);
    await writeEvents(ds, topic, events);

    await pollUntil('three failed publishes', () => bus.failures >= 3, DEADLINE_MS);
    expect(await unpublishedCount(ds)).toBe(30);
    expect(recorder.messages).toHaveLength(0);
    expect(relay.status().backingOff.map((b) => b.topic)).toEqual([topic]);
    expect((await relay.lag()).count).toBe(30);
    expect(logger.matching('warn', /the events stay in the outbox/).length).toBeGreaterThanOrEqual(3);

    bus.down = false;
    await pollUntil('all events after recovery', () => recorder.messages.length >= 30, DEADLINE_MS);
    expect(recorder.messages).toHaveLength(30);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    await pollUntil('the outbox to be drained', async () => (await unpublishedCount(ds)) === 0, DEADLINE_MS);
    expect(relay.status().backingOff).toEqual([]);
  });

  it('backs off exponentially while the bus stays down', async () => {
    const topic = topicName();
    const bus = new ControllableBus(await newBus(topic));
    bus.down = true;
    const relay = newRelay(ds, bus, { backoff: { initialMs: 80, maxMs: 10_000 }, pollIntervalMs: 10 });
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 1));
    relay.start();
    await pollUntil('a first failure', () => bus.failures >= 1, DEADLINE_MS);
    const started = Date.now();
    await pollUntil('three more failures', () => bus.failures >= 4, DEADLINE_MS);
    // Waits of 40-80, 80-160 and 160-320 ms (equal jitter) separate the first failure from the fourth; `started`
    // may lag the first failure by one 20 ms poll.
    expect(Date.now() - started).toBeGreaterThanOrEqual(255);
    const [backoff] = relay.status().backingOff;
    expect(backoff?.failures).toBeGreaterThanOrEqual(4);
  });

  it('a rolled-back writer transaction publishes nothing', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    newRelay(ds, bus).start();
    const [doomed, kept] = interleavedEvents(['reg-a', 'reg-b'], 1);
    if (!doomed || !kept) throw new Error('fixture');

    await expect(
      ds.transaction(async (em) => {
        await writeOutboxEvent(em, { topic, envelope: doomed });
        await notifyOutbox(em);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await writeEvents(ds, topic, [kept]);

    await pollUntil('the committed event', () => recorder.messages.length >= 1, DEADLINE_MS);
    expect(recorder.ids()).toEqual([kept.id]);
    const rows = (await ds.query('SELECT id FROM outbox_events')) as Array<{ id: string }>;
    expect(rows.map((r) => r.id)).toEqual([kept.id]);
  });

  it('wakes on NOTIFY without waiting for the poll', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    const relay = newRelay(ds, bus, { pollIntervalMs: 600_000 });
    relay.start();
    await pollUntil('the relay to listen', () => relay.status().listening, DEADLINE_MS);
    // Let the round that follows LISTEN (it catches up on anything missed) finish, so only NOTIFY can wake it.
    await relay.runOnce();

    const events = interleavedEvents(['reg-a'], 3);
    await writeEvents(ds, topic, events);
    await pollUntil('the notified events', () => recorder.messages.length >= 3, 5_000);
    expect(recorder.ids()).toEqual(events.map((e) => e.id));
  });

  it('polls when writers do not notify', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    newRelay(ds, bus, { pollIntervalMs: 100, listen: false }).start();
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 2), { notify: false });
    await pollUntil('the polled events', () => recorder.messages.length >= 2, DEADLINE_MS);
  });

  it('stop() finishes the batch in flight, then nothing more is published', async () => {
    const topic = topicName();
    const inner = await newBus(topic);
    const recorder = await record(inner, topic);
    const bus = new ControllableBus(inner);
    bus.hold();
    const relay = newRelay(ds, bus);
    await writeEvents(ds, topic, interleavedEvents(['reg-a', 'reg-b'], 3));
    relay.start();
    await pollUntil('a publish in flight', () => bus.publishCalls > 0, DEADLINE_MS);

    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    bus.release();
    await stopping;
    await pollUntil('the batch on the bus', () => recorder.messages.length >= 6, DEADLINE_MS);
    expect(recorder.messages).toHaveLength(6);
    expect(await unpublishedCount(ds)).toBe(0);
    expect(relay.status()).toMatchObject({ running: false, listening: false });
    await expect(relay.runOnce()).rejects.toThrow('stopped');
    expect(() => relay.start()).toThrow('cannot be started again');
  });

  it('a missing topic backs off alone; other topics keep flowing', async () => {
    const good = topicName();
    const missing = topicName();
    const bus = await newBus(good);
    const recorder = await record(bus, good);
    const logger = new CapturingLogger();
    const relay = newRelay(ds, bus, { logger });
    relay.start();
    await writeEvents(ds, missing, interleavedEvents(['reg-a'], 3));
    const events = interleavedEvents(['reg-a', 'reg-b'], 5);
    await writeEvents(ds, good, events);

    await pollUntil('the good topic', () => recorder.messages.length >= 10, DEADLINE_MS);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
    // The good rows are marked once their round commits, just after they reach the bus.
    await pollUntil('only the missing topic to be left', async () => (await unpublishedCount(ds)) === 3, DEADLINE_MS);
    expect(relay.status().backingOff.map((b) => b.topic)).toEqual([missing]);
    expect(logger.matching('error', /does not exist; create it/).length).toBeGreaterThanOrEqual(1);

    // Its rows removed (an operator gave up on them): the relay forgets the backoff instead of spinning on it.
    await ds.query('DELETE FROM outbox_events WHERE topic = $1', [missing]);
    await pollUntil('the backoff to be forgotten', () => relay.status().backingOff.length === 0, DEADLINE_MS);
  });

  it('does not let a row overtake an earlier row of its key that another session has locked', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    const events = interleavedEvents(['reg-a', 'reg-b'], 3);
    await writeEvents(ds, topic, events);
    const relay = newRelay(ds, bus);
    const firstOfA = events[0];
    if (!firstOfA) throw new Error('fixture');

    const locker = ds.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    try {
      await locker.query('SELECT id FROM outbox_events WHERE id = $1 FOR UPDATE', [firstOfA.id]);
      const round = await relay.runOnce();
      expect(round).toMatchObject({ leader: true, claimed: 5, heldBack: 2, published: 3 });
    } finally {
      await locker.rollbackTransaction();
      await locker.release();
    }
    const round = await relay.runOnce();
    expect(round).toMatchObject({ claimed: 3, heldBack: 0, published: 3 });
    await pollUntil('all six', () => recorder.messages.length >= 6, DEADLINE_MS);
    expect(recorder.firstSeenByKey()).toEqual(expectedByKey(events));
  });

  it('a relay that finds another one working claims nothing', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 2));
    const relay = newRelay(ds, bus);
    const holder = ds.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [relay['options'].leaderLockKey]);
      expect(await relay.runOnce()).toEqual({ leader: false, claimed: 0, published: 0, heldBack: 0, failedTopics: [] });
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await relay.runOnce()).toMatchObject({ leader: true, published: 2 });
  });

  it('rides out a database that is not reachable yet, then relays', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 2));
    const late = createDataSource({ url: db.url, applicationName: 'relay-late' });
    const logger = new CapturingLogger();
    const relay = newRelay(late, bus, { logger });
    relay.start();
    await pollUntil('a failed round', () => relay.status().lastError !== undefined, DEADLINE_MS);
    expect(logger.matching('warn', /round failed/).length).toBeGreaterThanOrEqual(1);

    await late.initialize();
    try {
      await pollUntil('the events once the database is there', () => recorder.messages.length >= 2, DEADLINE_MS);
      await pollUntil('the error to clear', () => relay.status().lastError === undefined, DEADLINE_MS);
    } finally {
      await relay.stop();
      await late.destroy();
    }
  });

  it('lag() reports the unpublished count and the age of the oldest', async () => {
    const relay = newRelay(ds, await newBus(topicName()));
    expect(await relay.lag()).toEqual({ count: 0, oldestAgeMs: 0 });
    await writeEvents(ds, topicName(), interleavedEvents(['reg-a'], 3));
    await ds.query(
      `UPDATE outbox_events SET created_at = now() - interval '5 seconds' WHERE seq = (SELECT min(seq) FROM outbox_events)`,
    );
    const lag = await relay.lag();
    expect(lag.count).toBe(3);
    expect(lag.oldestAgeMs).toBeGreaterThanOrEqual(5_000);
    expect(lag.oldestAgeMs).toBeLessThan(60_000);
  });

  it('purges published rows past the retention in small batches, keeping recent and unpublished ones', async () => {
    const topic = topicName();
    const relay = newRelay(ds, await newBus(topic), { retentionMs: 60_000, purgeBatchSize: 2 });
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 6));
    expect(await relay.runOnce()).toMatchObject({ published: 6 });
    await ds.query(
      `UPDATE outbox_events SET published_at = now() - interval '2 minutes'
       WHERE seq IN (SELECT seq FROM outbox_events ORDER BY seq LIMIT 5)`,
    );
    await writeEvents(ds, 'outbox-unrelayed', interleavedEvents(['reg-a'], 1));

    expect(await relay.purgePublished()).toBe(5);
    const left = (await ds.query(
      'SELECT topic, published_at IS NULL AS pending FROM outbox_events ORDER BY seq',
    )) as Array<{
      topic: string;
      pending: boolean;
    }>;
    expect(left).toEqual([
      { topic, pending: false },
      { topic: 'outbox-unrelayed', pending: true },
    ]);
    expect(await relay.purgePublished()).toBe(0);
  });

  it('purges on its interval while running', async () => {
    const topic = topicName();
    const relay = newRelay(ds, await newBus(topic), { retentionMs: 0, purgeIntervalMs: 50 });
    await writeEvents(ds, topic, interleavedEvents(['reg-a'], 3));
    relay.start();
    await pollUntil(
      'published rows to be purged',
      async () => {
        const rows = (await ds.query('SELECT count(*)::int AS n FROM outbox_events')) as Array<{ n: number }>;
        return rows[0]?.n === 0;
      },
      DEADLINE_MS,
    );
  });

  it('relays rows written without the codec headers (older writers) with the headers derived from the envelope', async () => {
    const topic = topicName();
    const bus = await newBus(topic);
    const recorder = await record(bus, topic);
    const envelope = createEventEnvelope({ type: 'ImagePushed', version: 2, registryId: 'reg-x', data: { tag: 'v1' } });
    await ds.query(
      `INSERT INTO outbox_events (id, topic, key, payload, headers) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)`,
      [
        envelope.id,
        topic,
        envelope.registryId,
        JSON.stringify(envelope),
        JSON.stringify({ traceparent: TRACEPARENT, 'x-custom': 'kept' }),
      ],
    );
    await newRelay(ds, bus).runOnce();
    await pollUntil('the hand-written row', () => recorder.messages.length === 1, DEADLINE_MS);
    expect(recorder.messages[0]?.headers).toEqual({
      [EventHeaders.Id]: envelope.id,
      [EventHeaders.Type]: 'ImagePushed',
      [EventHeaders.Version]: '2',
      [EventHeaders.ContentType]: 'application/json',
      [EventHeaders.Traceparent]: TRACEPARENT,
      'x-custom': 'kept',
    });
    expect(decodeEventEnvelope(recorder.messages[0] ?? { value: '' })).toEqual(envelope);
  });

  describe('writeOutboxEvent', () => {
    it('stores the envelope, key and codec headers; writing the same envelope again is a no-op', async () => {
      const envelope = createEventEnvelope({
        type: 'TestEvent',
        version: 1,
        registryId: 'reg-w',
        data: { n: 1 },
        traceparent: TRACEPARENT,
      });
      const first = await ds.transaction((em) => writeOutboxEvent(em, { topic: 'outbox-w', envelope }));
      const again = await ds.transaction((em) => writeOutboxEvent(em, { topic: 'outbox-w', envelope, key: 'other' }));
      expect(first).toEqual({ id: envelope.id, inserted: true });
      expect(again).toEqual({ id: envelope.id, inserted: false });
      const rows = (await ds.query(
        'SELECT id, topic, key, payload, headers, published_at FROM outbox_events',
      )) as unknown[];
      expect(rows).toEqual([
        {
          id: envelope.id,
          topic: 'outbox-w',
          key: 'reg-w',
          payload: envelope,
          headers: {
            [EventHeaders.Id]: envelope.id,
            [EventHeaders.Type]: 'TestEvent',
            [EventHeaders.Version]: '1',
            [EventHeaders.ContentType]: 'application/json',
            [EventHeaders.Traceparent]: TRACEPARENT,
          },
          published_at: null,
        },
      ]);
    });

    it('refuses a bad topic, an invalid envelope, an empty key and an oversized event before writing', async () => {
      const envelope = createEventEnvelope({ type: 'TestEvent', version: 1, registryId: 'reg-w', data: {} });
      const em = ds.manager;
      await expect(writeOutboxEvent(em, { topic: 'bad/topic', envelope })).rejects.toBeInstanceOf(InvalidTopicError);
      await expect(writeOutboxEvent(em, { topic: 't', envelope: { ...envelope, id: 'nope' } })).rejects.toThrow(
        /id is not a UUID/,
      );
      await expect(writeOutboxEvent(em, { topic: 't', envelope, key: '' })).rejects.toBeInstanceOf(
        InvalidEventBusArgumentError,
      );
      const huge = { ...envelope, data: { blob: 'x'.repeat(OUTBOX_MAX_EVENT_BYTES) } };
      await expect(writeOutboxEvent(em, { topic: 't', envelope: huge })).rejects.toThrow(/bytes encoded/);
      expect(await unpublishedCount(ds)).toBe(0);
    });
  });

  describe(OutboxRelayModule.name, () => {
    const globalInfrastructure = (bus: EventBus): Type<unknown> => {
      @Global()
      @Module({
        providers: [
          { provide: DATA_SOURCE, useValue: ds },
          { provide: EVENT_BUS, useValue: bus },
        ],
        exports: [DATA_SOURCE, EVENT_BUS],
      })
      class TestInfrastructure {}
      return TestInfrastructure;
    };

    it('starts the relay on bootstrap and stops it on close', async () => {
      const topic = topicName();
      const bus = await newBus(topic);
      const recorder = await record(bus, topic);
      const moduleRef = await Test.createTestingModule({
        imports: [globalInfrastructure(bus), OutboxRelayModule.forRoot({ pollIntervalMs: 50 })],
      }).compile();
      const app = await moduleRef.init();
      const relay = app.get(OutboxRelayService);
      expect(relay).toBeInstanceOf(OutboxRelay);
      expect(relay.status().running).toBe(true);
      await writeEvents(ds, topic, interleavedEvents(['reg-a'], 2));
      await pollUntil('the events through the module', () => recorder.messages.length >= 2, DEADLINE_MS);
      await app.close();
      expect(relay.status().running).toBe(false);
    });

    it('forRootAsync builds the options with a factory; autoStart false leaves it stopped', async () => {
      const bus = await newBus(topicName());
      const moduleRef = await Test.createTestingModule({
        imports: [
          globalInfrastructure(bus),
          OutboxRelayModule.forRootAsync({ useFactory: () => Promise.resolve({ autoStart: false, batchSize: 3 }) }),
        ],
      }).compile();
      const app = await moduleRef.init();
      const relay = app.get(OutboxRelayService);
      expect(relay.status().running).toBe(false);
      expect(relay['options'].batchSize).toBe(3);
      await app.close();
    });

    it('refuses invalid options when composed', () => {
      expect(() => OutboxRelayModule.forRoot({ batchSize: 0 })).toThrow(/batchSize/);
    });
  });
});
