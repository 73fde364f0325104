import { createDataSource } from '@berth/db';
import { InProcessEventBus } from '../adapters/in-process/in-process-event-bus.adapter';
import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { InvalidTopicError } from '../errors/invalid-topic.error';
import { UnknownTopicError } from '../errors/unknown-topic.error';
import type { ReceivedMessage } from '../event-bus.port';
import { CapturingLogger } from '../outbox/testing/capturing-logger';
import { pollUntil } from '../testing/poll-until.util';
import { DeadLetterHeaders } from './dead-letter';
import { consume, IdempotentConsumer } from './idempotent-consumer';
import type { IdempotentConsumerOptions } from './idempotent-consumer';

// A DataSource that is never connected: these tests never reach the database.
const dataSource = createDataSource({ url: 'postgres://berth:berth@127.0.0.1:1/never' });

function options(overrides: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumerOptions {
  return {
    topics: 'events',
    groupId: 'group',
    dataSource,
    deadLetterTopic: 'events.dlq',
    handler: () => Promise.resolve(),
    ...overrides,
  };
}

describe(IdempotentConsumer.name, () => {
  describe('constructor', () => {
    it('should refuse inconsistent options', () => {
      const bus = new InProcessEventBus();
      const make = (o: Partial<IdempotentConsumerOptions>) => () => new IdempotentConsumer(bus, options(o));
      expect(make({ groupId: ' ' })).toThrow(InvalidEventBusArgumentError);
      expect(make({ topics: [] })).toThrow(/topics must not be empty/);
      expect(make({ topics: 'bad/topic' })).toThrow(InvalidTopicError);
      expect(make({ deadLetterTopic: '' })).toThrow(InvalidTopicError);
      expect(make({ deadLetterTopic: 'events' })).toThrow(/dead-letter topic cannot be one it consumes/);
      expect(make({ maxAttempts: 0 })).toThrow(/maxAttempts/);
      expect(make({ mode: 'sometimes' as never })).toThrow(/unknown mode/);
      expect(make({ gcIntervalMs: -1 })).toThrow(/gcIntervalMs/);
      expect(make({ backoff: { initialMs: 100, maxMs: 10 } })).toThrow(/maxMs/);
      expect(make({ dataSource: { options: { type: 'sqlite' } } as never })).toThrow(/postgres/);
      expect(make({})).not.toThrow();
    });
  });

  describe('start', () => {
    it('should reject while a topic is missing and succeed when called again once it exists', async () => {
      const bus = new InProcessEventBus();
      const consumer = new IdempotentConsumer(bus, options({ gcIntervalMs: 0 }));
      try {
        await expect(consumer.start()).rejects.toBeInstanceOf(UnknownTopicError);
        await bus.ensureTopics([{ name: 'events' }]);
        await expect(consumer.start()).resolves.toBeUndefined();
        await expect(consumer.start()).resolves.toBeUndefined();
      } finally {
        await consumer.stop();
        await bus.close();
      }
      await expect(consumer.start()).rejects.toThrow(/stopping/);
    });
  });

  describe('handle', () => {
    it('should dead-letter a message that is not an event, without touching the database', async () => {
      const bus = new InProcessEventBus();
      await bus.ensureTopics([{ name: 'events' }, { name: 'events.dlq' }]);
      const dead: ReceivedMessage[] = [];
      await bus.subscribe('events.dlq', { groupId: 'dlq', fromBeginning: true }, (m) => {
        dead.push(m);
        return Promise.resolve();
      });
      let calls = 0;
      const consumer = await consume(
        bus,
        options({
          gcIntervalMs: 0,
          handler: () => {
            calls++;
            return Promise.resolve();
          },
        }),
      );
      try {
        await bus.publish('events', [{ key: 'reg', value: '{"id":"not-a-uuid"}' }]);
        await pollUntil('the dead letter', () => dead.length === 1, 2_000);
        expect(calls).toBe(0);
        expect(dead[0]?.headers[DeadLetterHeaders.Error]).toBe(
          'InvalidEventEnvelopeError: invalid event envelope: id is not a UUID',
        );
        expect(consumer.stats()).toEqual({ handled: 0, duplicates: 0, failedAttempts: 0, deadLettered: 1 });
      } finally {
        await consumer.stop();
        await bus.close();
      }
    });

    it('should keep retrying the dead-letter publish, and leave the message uncommitted when stopped', async () => {
      const bus = new InProcessEventBus();
      await bus.ensureTopics([{ name: 'events' }]); // no dead-letter topic: every publish to it fails
      const logger = new CapturingLogger();
      const consumer = new IdempotentConsumer(
        bus,
        options({ gcIntervalMs: 0, backoff: { initialMs: 5, maxMs: 5 }, logger }),
      );
      const message: ReceivedMessage = {
        topic: 'events',
        partition: 0,
        offset: '0',
        key: 'reg',
        value: Buffer.from('garbage'),
        headers: {},
        timestamp: new Date(),
        attempt: 1,
      };
      const handling = consumer.handle(message);
      const outcome = handling.then(
        () => 'resolved',
        (err: Error) => err.name,
      );
      await pollUntil(
        'two failed dead-letter publishes',
        () => logger.matching('error', /could not dead-letter/).length >= 2,
        2_000,
      );
      await consumer.stop();
      expect(await outcome).toBe('ConsumerStoppedError');
      expect(consumer.stats().deadLettered).toBe(0);
      await bus.close();
    });
  });
});
