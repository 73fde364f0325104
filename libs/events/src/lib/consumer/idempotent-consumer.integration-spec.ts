import { randomUUID } from 'node:crypto';
import { DatabaseUnavailableError } from '@berth/db';
import type { DataSource, EntityManager } from 'typeorm';
import { InProcessEventBus } from '../adapters/in-process/in-process-event-bus.adapter';
import type { ReceivedMessage } from '../event-bus.port';
import { encodeEventEnvelope, EventHeaders } from '../event-envelope.codec';
import { createEventEnvelope } from '../event-envelope.model';
import type { EventEnvelope } from '../event-envelope.model';
import { Recorder } from '../outbox/testing/outbox-fixtures';
import { createTestDatabase } from '../outbox/testing/outbox-test-database';
import type { TestDatabase } from '../outbox/testing/outbox-test-database';
import { pollUntil } from '../testing/poll-until.util';
import { DeadLetterHeaders } from './dead-letter';
import { consume, IdempotentConsumer } from './idempotent-consumer';
import type { IdempotentConsumerOptions, IdempotentEventHandler } from './idempotent-consumer';
import { PoisonEventError } from './poison-event.error';

const DEADLINE_MS = 10_000;

interface Data {
  n: number;
}

describe(`${IdempotentConsumer.name} (Postgres, in-process bus)`, () => {
  let db: TestDatabase;
  let ds: DataSource;
  let bus: InProcessEventBus;
  let topic: string;
  let dlq: string;
  const consumers: IdempotentConsumer<Data>[] = [];
  const recorders: Recorder[] = [];

  const event = (registryId: string, n: number): EventEnvelope<Data> =>
    createEventEnvelope({ type: 'TestEvent', version: 1, registryId, data: { n } });
  const publish = (...events: Array<EventEnvelope<Data>>): Promise<void> =>
    bus.publish(
      topic,
      events.map((e) => encodeEventEnvelope(e)),
    );
  const start = async (
    handler: IdempotentEventHandler<Data>,
    options: Partial<IdempotentConsumerOptions<Data>> = {},
  ): Promise<IdempotentConsumer<Data>> => {
    const consumer = await consume<Data>(bus, {
      topics: topic,
      groupId: `group-${randomUUID()}`,
      dataSource: ds,
      deadLetterTopic: dlq,
      handler,
      maxAttempts: 3,
      backoff: { initialMs: 10, maxMs: 50 },
      fromBeginning: true,
      ...options,
    });
    consumers.push(consumer);
    return consumer;
  };
  const deadLetters = async (): Promise<Recorder> => {
    const recorder = await Recorder.on(bus, dlq);
    recorders.push(recorder);
    return recorder;
  };
  /** The effect a handler makes: one row per call, in the handler's transaction when it has one. */
  const recordEffect = async (em: EntityManager, groupId: string, e: EventEnvelope<Data>): Promise<void> => {
    await em.query('INSERT INTO consumer_effects (group_id, event_id, registry_id, n) VALUES ($1, $2, $3, $4)', [
      groupId,
      e.id,
      e.registryId,
      e.data.n,
    ]);
  };
  const effects = async (groupId: string): Promise<Array<{ event_id: string; registry_id: string; n: number }>> =>
    (await ds.query('SELECT event_id, registry_id, n FROM consumer_effects WHERE group_id = $1 ORDER BY id', [
      groupId,
    ])) as Array<{ event_id: string; registry_id: string; n: number }>;
  const processed = async (groupId: string): Promise<string[]> =>
    (
      (await ds.query('SELECT event_id FROM processed_events WHERE consumer_group = $1', [groupId])) as Array<{
        event_id: string;
      }>
    ).map((r) => r.event_id);

  beforeAll(async () => {
    db = await createTestDatabase('berth_events_consumer');
    ds = db.dataSource;
    await ds.query(
      `CREATE TABLE consumer_effects (id serial PRIMARY KEY, group_id text NOT NULL, event_id uuid NOT NULL,
         registry_id text NOT NULL, n int NOT NULL)`,
    );
  });

  beforeEach(async () => {
    bus = new InProcessEventBus({ defaultPartitions: 3, redelivery: { initialMs: 10, maxMs: 50 } });
    topic = `consumer-it-${randomUUID()}`;
    dlq = `${topic}.dlq`;
    await bus.ensureTopics([{ name: topic }, { name: dlq }]);
  });

  afterEach(async () => {
    await Promise.allSettled(consumers.splice(0).map((c) => c.stop()));
    await Promise.allSettled(recorders.splice(0).map((r) => r.stop()));
    await bus.close();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('handles every event once, in order per key, and skips an event delivered again', async () => {
    const events = [0, 1, 2, 3, 4].flatMap((n) => [event('reg-a', n), event('reg-b', n)]);
    const consumer = await start((e, { em }) => recordEffect(em, consumer.groupId, e));
    await publish(...events);
    await pollUntil('ten events', () => consumer.stats().handled === 10, DEADLINE_MS);
    const [again] = events.slice(3, 4);
    if (!again) throw new Error('fixture');
    await publish(again);
    await pollUntil('the duplicate to be skipped', () => consumer.stats().duplicates === 1, DEADLINE_MS);

    const rows = await effects(consumer.groupId);
    expect(rows).toHaveLength(10);
    for (const key of ['reg-a', 'reg-b']) {
      expect(rows.filter((r) => r.registry_id === key).map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
    }
    expect((await processed(consumer.groupId)).sort()).toEqual(events.map((e) => e.id).sort());
    expect(consumer.stats()).toEqual({ handled: 10, duplicates: 1, failedAttempts: 0, deadLettered: 0 });
  });

  it('each group handles every event; their records are their own', async () => {
    const events = [event('reg-a', 0), event('reg-a', 1)];
    const first = await start((e, { em }) => recordEffect(em, first.groupId, e));
    const second = await start((e, { em }) => recordEffect(em, second.groupId, e));
    await publish(...events);
    await pollUntil('both groups', () => first.stats().handled === 2 && second.stats().handled === 2, DEADLINE_MS);
    expect(await effects(first.groupId)).toHaveLength(2);
    expect(await effects(second.groupId)).toHaveLength(2);
  });

  it('two deliveries of one event racing each other run a transactional handler once', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const consumer = new IdempotentConsumer<Data>(bus, {
      topics: topic,
      groupId: `group-${randomUUID()}`,
      dataSource: ds,
      deadLetterTopic: dlq,
      handler: async (e, { em }) => {
        calls++;
        await gate;
        await recordEffect(em, consumer.groupId, e);
      },
    });
    consumers.push(consumer);
    const e = event('reg-a', 7);
    const message: ReceivedMessage = {
      topic,
      partition: 0,
      offset: '0',
      key: e.registryId,
      value: Buffer.from(encodeEventEnvelope(e).value as string),
      headers: {},
      timestamp: new Date(),
      attempt: 1,
    };
    const one = consumer.handle(message);
    const two = consumer.handle({ ...message, attempt: 2 });
    await pollUntil('the first delivery in the handler', () => calls === 1, DEADLINE_MS);
    release();
    await Promise.all([one, two]);
    expect(calls).toBe(1);
    expect(await effects(consumer.groupId)).toHaveLength(1);
    expect(consumer.stats()).toMatchObject({ handled: 1, duplicates: 1 });
  });

  it('dead-letters a failing event after maxAttempts with its headers, then moves on to the next of its key', async () => {
    const dead = await deadLetters();
    const log: string[] = [];
    const poison = event('reg-a', 1);
    const consumer = await start(
      (e) => {
        log.push(`${e.id === poison.id ? 'poison' : 'ok'}:${e.data.n}`);
        return e.id === poison.id ? Promise.reject(new Error('boom: the scanner refused it')) : Promise.resolve();
      },
      { maxAttempts: 3 },
    );
    const before = event('reg-a', 0);
    const after = event('reg-a', 2);
    await publish(before, poison, after);

    await pollUntil(
      'the dead letter and the next event',
      () => dead.messages.length === 1 && consumer.stats().handled === 2,
      DEADLINE_MS,
    );
    expect(log).toEqual(['ok:0', 'poison:1', 'poison:1', 'poison:1', 'ok:2']);
    const [letter] = dead.messages;
    expect(letter?.key).toBe('reg-a');
    expect(letter?.value.equals(Buffer.from(encodeEventEnvelope(poison).value))).toBe(true);
    expect(letter?.headers).toMatchObject({
      [EventHeaders.Id]: poison.id,
      [DeadLetterHeaders.Error]: 'Error: boom: the scanner refused it',
      [DeadLetterHeaders.Attempts]: '3',
      [DeadLetterHeaders.ConsumerGroup]: consumer.groupId,
      [DeadLetterHeaders.OriginalTopic]: topic,
      [DeadLetterHeaders.OriginalOffset]: '1',
    });
    expect(Number(letter?.headers[DeadLetterHeaders.OriginalPartition])).toBeGreaterThanOrEqual(0);
    expect(Date.parse(letter?.headers[DeadLetterHeaders.FailedAt] ?? '')).not.toBeNaN();
    // Not recorded as processed: a replay from the dead-letter topic runs the handler again.
    expect(await processed(consumer.groupId)).not.toContain(poison.id);
    expect(consumer.stats()).toEqual({ handled: 2, duplicates: 0, failedAttempts: 3, deadLettered: 1 });
  });

  it('dead-letters at once on PoisonEventError', async () => {
    const dead = await deadLetters();
    let calls = 0;
    const consumer = await start(() => {
      calls++;
      return Promise.reject(new PoisonEventError('references a registry that never existed'));
    });
    await publish(event('reg-a', 0));
    await pollUntil('the dead letter', () => dead.messages.length === 1, DEADLINE_MS);
    expect(calls).toBe(1);
    expect(dead.messages[0]?.headers).toMatchObject({
      [DeadLetterHeaders.Attempts]: '1',
      [DeadLetterHeaders.Error]: 'PoisonEventError: references a registry that never existed',
    });
    expect(consumer.stats().deadLettered).toBe(1);
  });

  it('dead-letters a message that is not a valid envelope, or whose data parseData refuses, without the handler', async () => {
    const dead = await deadLetters();
    let calls = 0;
    await start(
      () => {
        calls++;
        return Promise.resolve();
      },
      {
        parseData: (data) => {
          const n = (data as { n?: unknown }).n;
          if (typeof n !== 'number') throw new Error('n must be a number');
          return { n };
        },
      },
    );
    const refused = createEventEnvelope({ type: 'TestEvent', version: 1, registryId: 'reg-a', data: { n: 'one' } });
    await bus.publish(topic, [
      { key: 'reg-a', value: 'not json', headers: { 'x-origin': 'test' } },
      encodeEventEnvelope(refused),
    ]);
    await pollUntil('two dead letters', () => dead.messages.length === 2, DEADLINE_MS);
    expect(calls).toBe(0);
    expect(dead.messages.map((m) => m.headers[DeadLetterHeaders.Attempts])).toEqual(['0', '0']);
    expect(dead.messages[0]?.headers).toMatchObject({
      'x-origin': 'test',
      [DeadLetterHeaders.Error]: 'InvalidEventEnvelopeError: invalid event envelope: value is not JSON',
    });
    expect(dead.messages[1]?.headers[DeadLetterHeaders.Error]).toMatch(
      /data was refused by its parser: n must be a number/,
    );
  });

  it("commits the handler's writes and the processed record together, or neither", async () => {
    const observed: Array<{ effects: number; processed: number }> = [];
    const consumer = await start(async (e, { em, attempt }) => {
      if (attempt === 2) {
        observed.push({
          effects: (await effects(consumer.groupId)).length,
          processed: (await processed(consumer.groupId)).length,
        });
      }
      await recordEffect(em, consumer.groupId, e);
      if (attempt === 1) throw new Error('failed after writing');
    });
    const e = event('reg-a', 0);
    await publish(e);
    await pollUntil('the second attempt to succeed', () => consumer.stats().handled === 1, DEADLINE_MS);
    // Seen from outside during the second attempt: the first attempt left nothing behind.
    expect(observed).toEqual([{ effects: 0, processed: 0 }]);
    expect((await effects(consumer.groupId)).map((r) => r.event_id)).toEqual([e.id]);
    expect(await processed(consumer.groupId)).toEqual([e.id]);
  });

  it('does not acknowledge a handler that swallowed a database error of its transaction', async () => {
    const consumer = await start(async (e, { em, attempt }) => {
      if (attempt === 1) {
        await em.query('SELECT 1 / 0').catch(() => undefined); // the transaction is now aborted
        return;
      }
      await recordEffect(em, consumer.groupId, e);
    });
    const e = event('reg-a', 0);
    await publish(e);
    await pollUntil('the event handled on the second attempt', () => consumer.stats().handled === 1, DEADLINE_MS);
    expect(consumer.stats().failedAttempts).toBe(1);
    expect(await effects(consumer.groupId)).toHaveLength(1);
    expect(await processed(consumer.groupId)).toEqual([e.id]);
  });

  it('waits out database outages without counting attempts (never dead-letters a good event for them)', async () => {
    const dead = await deadLetters();
    let calls = 0;
    const consumer = await start(
      () => {
        calls++;
        return calls <= 3
          ? Promise.reject(new DatabaseUnavailableError('postgres is unavailable: ECONNREFUSED'))
          : Promise.resolve();
      },
      { maxAttempts: 2 },
    );
    await publish(event('reg-a', 0));
    await pollUntil('the event handled after the outage', () => consumer.stats().handled === 1, DEADLINE_MS);
    expect(calls).toBe(4);
    expect(dead.messages).toHaveLength(0);
    expect(consumer.stats()).toMatchObject({ failedAttempts: 3, deadLettered: 0 });
  });

  it('waits longer before each retry (exponential backoff with jitter)', async () => {
    const dead = await deadLetters();
    const times: number[] = [];
    await start(
      () => {
        times.push(Date.now());
        return Promise.reject(new Error('still failing'));
      },
      { maxAttempts: 5, backoff: { initialMs: 40, maxMs: 5_000 } },
    );
    await publish(event('reg-a', 0));
    await pollUntil('the dead letter', () => dead.messages.length === 1, DEADLINE_MS);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(gaps).toHaveLength(4);
    // Equal jitter: the i-th wait lies in [40·2^i / 2, 40·2^i] ms (timers may fire a millisecond early).
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(20 * 2 ** i - 2));
    expect(gaps[3]).toBeGreaterThan(gaps[0] ?? Infinity);
  });

  it('after-success mode: the handler runs outside a transaction and the id is recorded once it resolved', async () => {
    const inTransaction: boolean[] = [];
    const consumer = await start(
      async (e, { em }) => {
        inTransaction.push(em.queryRunner?.isTransactionActive ?? false);
        await recordEffect(em, consumer.groupId, e);
      },
      { mode: 'after-success' },
    );
    const e = event('reg-a', 0);
    await publish(e);
    await pollUntil('the event', () => consumer.stats().handled === 1, DEADLINE_MS);
    await publish(e);
    await pollUntil('the duplicate to be skipped', () => consumer.stats().duplicates === 1, DEADLINE_MS);
    expect(inTransaction).toEqual([false]);
    expect(await effects(consumer.groupId)).toHaveLength(1);
    expect(await processed(consumer.groupId)).toEqual([e.id]);
  });

  it('stop() interrupts the retries promptly and leaves the event to the group', async () => {
    const groupId = `group-${randomUUID()}`;
    let calls = 0;
    const failing = await start(
      () => {
        calls++;
        return Promise.reject(new Error('not yet'));
      },
      { groupId, maxAttempts: 100, backoff: { initialMs: 60_000, maxMs: 60_000 } },
    );
    const e = event('reg-a', 0);
    await publish(e);
    await pollUntil('the first attempt', () => calls === 1, DEADLINE_MS);
    const started = Date.now();
    await failing.stop();
    expect(Date.now() - started).toBeLessThan(2_000);

    const healed = await start((ev, { em }) => recordEffect(em, groupId, ev), { groupId });
    await pollUntil('the event, by the group, after the restart', () => healed.stats().handled === 1, DEADLINE_MS);
    expect((await effects(groupId)).map((r) => r.event_id)).toEqual([e.id]);
    await expect(failing.start()).rejects.toThrow(/stopping/);
  });

  it('garbage collects the old records of its own group only, also on its interval', async () => {
    const consumer = new IdempotentConsumer<Data>(bus, {
      topics: topic,
      groupId: `group-${randomUUID()}`,
      dataSource: ds,
      deadLetterTopic: dlq,
      handler: () => Promise.resolve(),
      processedRetentionMs: 24 * 60 * 60 * 1000,
      gcIntervalMs: 50,
    });
    consumers.push(consumer);
    const other = `group-${randomUUID()}`;
    const [oldOwn, oldOther, recentOwn] = [randomUUID(), randomUUID(), randomUUID()];
    await ds.query(
      `INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES
         ($1, $2, now() - interval '2 days'), ($3, $4, now() - interval '2 days'), ($1, $5, now())`,
      [consumer.groupId, oldOwn, other, oldOther, recentOwn],
    );
    expect(await consumer.collectGarbage()).toBe(1);
    expect(await processed(consumer.groupId)).toEqual([recentOwn]);
    expect(await processed(other)).toEqual([oldOther]);

    const anotherOld = randomUUID();
    await ds.query(
      `INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES ($1, $2, now() - interval '3 days')`,
      [consumer.groupId, anotherOld],
    );
    await consumer.start();
    await pollUntil(
      'the periodic collection',
      async () => !(await processed(consumer.groupId)).includes(anotherOld),
      DEADLINE_MS,
    );
  });
});
