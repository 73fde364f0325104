import { randomUUID } from 'node:crypto';
import { EventBusClosedError } from '../errors/event-bus-closed.error';
import { InvalidTopicError } from '../errors/invalid-topic.error';
import { UnknownTopicError } from '../errors/unknown-topic.error';
import type { EventBus, MessageHandler, ReceivedMessage, Subscription } from '../event-bus.port';
import { decodeEventEnvelope, encodeEventEnvelope, EventHeaders } from '../event-envelope.codec';
import { createEventEnvelope } from '../event-envelope.model';
import { pollUntil } from './poll-until.util';

export interface EventBusContractSubject {
  /** Creates a bus. Called once for the suite and again by the tests of `close()`; the suite closes them. */
  create(): Promise<EventBus>;
  /** Removes what the suite created on the server (topics, consumer groups). Optional. */
  cleanup?(created: { topics: string[]; groups: string[] }): Promise<void>;
  /** Upper bound for one asynchronous outcome (delivery, group join). Default 20 s. */
  timeoutMs?: number;
}

/** Records what a subscription receives; optionally delegates to a behaviour per message. */
class Inbox {
  readonly received: ReceivedMessage[] = [];
  constructor(private readonly behaviour?: MessageHandler) {}

  readonly handler: MessageHandler = async (message) => {
    this.received.push(message);
    if (this.behaviour) await this.behaviour(message);
  };

  values(): string[] {
    return this.received.map((m) => m.value.toString('utf8'));
  }
}

/**
 * The EventBus contract: every adapter must pass it (in-process in a unit spec, Kafka in an integration
 * spec). Each test uses its own topics and groups, so tests are independent of each other and of parallel
 * runs against the same broker.
 */
export function eventBusContract(name: string, subject: EventBusContractSubject): void {
  describe(`${name} honours EventBus`, () => {
    const timeoutMs = subject.timeoutMs ?? 20_000;
    const created = { topics: [] as string[], groups: [] as string[] };
    const buses: EventBus[] = [];
    const subscriptions: Subscription[] = [];
    let bus: EventBus;

    const topicName = (): string => {
      const topic = `contract-${randomUUID()}`;
      created.topics.push(topic);
      return topic;
    };
    const groupName = (): string => {
      const group = `contract-${randomUUID()}`;
      created.groups.push(group);
      return group;
    };
    const newTopic = async (partitions?: number): Promise<string> => {
      const topic = topicName();
      await bus.ensureTopics([{ name: topic, partitions }]);
      return topic;
    };
    const subscribe = async (
      topic: string | string[],
      options: { groupId: string; fromBeginning?: boolean; concurrency?: number },
      handler: MessageHandler,
      on: EventBus = bus,
    ): Promise<Subscription> => {
      const subscription = await on.subscribe(topic, options, handler);
      subscriptions.push(subscription);
      return subscription;
    };
    const until = <T>(what: string, probe: () => T | undefined | false): Promise<T> =>
      pollUntil(what, probe, timeoutMs);
    const text = (values: string[], key = 'k'): Array<{ key: string; value: string }> =>
      values.map((value) => ({ key, value }));

    beforeAll(async () => {
      bus = await subject.create();
      buses.push(bus);
    });

    afterAll(async () => {
      await Promise.allSettled(subscriptions.map((s) => s.stop()));
      await Promise.allSettled(buses.map((b) => b.close()));
      await subject.cleanup?.(created);
    });

    it('ping resolves while the broker is up', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('ensureTopics is idempotent, also when called concurrently', async () => {
      const topic = topicName();
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await Promise.all([
        bus.ensureTopics([{ name: topic, partitions: 3 }]),
        bus.ensureTopics([{ name: topic }, { name: topicName(), partitions: 2 }]),
      ]);
      const inbox = new Inbox();
      await subscribe(topic, { groupId: groupName(), fromBeginning: true }, inbox.handler);
      await bus.publish(topic, text(['after-ensure']));
      await until('the message on the re-ensured topic', () => inbox.received.length === 1);
      expect(inbox.received[0]?.partition).toBeLessThan(3);
    });

    it('delivers the value, key and headers of an event envelope, and publish resolves with an empty list', async () => {
      const topic = await newTopic();
      const inbox = new Inbox();
      await subscribe(topic, { groupId: groupName(), fromBeginning: true }, inbox.handler);
      const envelope = createEventEnvelope({
        type: 'ImagePushed',
        version: 1,
        registryId: 'reg-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        data: { repository: 'hello-world', tag: 'latest' },
      });
      await bus.publish(topic, []);
      await bus.publish(topic, [encodeEventEnvelope(envelope), { key: 'reg-2', value: Buffer.from([0, 1, 2, 255]) }]);

      await until('both messages', () => inbox.received.length === 2);
      // Different keys may sit in different partitions: no order between them.
      const byKey = (key: string): ReceivedMessage => {
        const message = inbox.received.find((m) => m.key === key);
        if (!message) throw new Error(`no message with key ${key}`);
        return message;
      };
      const [first, second] = [byKey('reg-1'), byKey('reg-2')];
      expect(first.topic).toBe(topic);
      expect(first.key).toBe('reg-1');
      expect(first.attempt).toBe(1);
      expect(first.timestamp).toBeInstanceOf(Date);
      expect(Number.isNaN(first.timestamp.getTime())).toBe(false);
      expect(first.headers).toMatchObject({
        [EventHeaders.Id]: envelope.id,
        [EventHeaders.Type]: 'ImagePushed',
        [EventHeaders.Version]: '1',
        [EventHeaders.Traceparent]: envelope.traceparent,
      });
      expect(decodeEventEnvelope(first)).toEqual(envelope);
      expect(second.key).toBe('reg-2');
      expect(second.value.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
      expect(second.headers).toEqual({});
    });

    it('delivers every message to each consumer group', async () => {
      const topic = await newTopic();
      const a = new Inbox();
      const b = new Inbox();
      await Promise.all([
        subscribe(topic, { groupId: groupName(), fromBeginning: true }, a.handler),
        subscribe(topic, { groupId: groupName(), fromBeginning: true }, b.handler),
      ]);
      const sent = Array.from({ length: 20 }, (_, i) => ({ key: `key-${i % 7}`, value: `m${i}` }));
      await bus.publish(topic, sent);

      const expected = sent.map((m) => m.value).sort();
      await until('all 20 messages in both groups', () => a.received.length >= 20 && b.received.length >= 20);
      expect([...new Set(a.values())].sort()).toEqual(expected);
      expect([...new Set(b.values())].sort()).toEqual(expected);
    });

    it('members of one group share the partitions and together receive every message', async () => {
      const topic = await newTopic(4);
      const group = groupName();
      const a = new Inbox();
      const b = new Inbox();
      await subscribe(topic, { groupId: group, fromBeginning: true }, a.handler);
      await subscribe(topic, { groupId: group, fromBeginning: true }, b.handler);
      const sent = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `m${i}` }));
      await bus.publish(topic, sent);

      const union = (): Set<string> => new Set([...a.values(), ...b.values()]);
      await until('all 40 messages across the two members', () => union().size === 40);
    });

    it('handles the messages of one key in publish order, one at a time (200 messages, 5 keys)', async () => {
      const topic = await newTopic(4);
      const inFlight = new Map<string, number>();
      let overlaps = 0;
      let maxConcurrent = 0;
      let running = 0;
      const inbox = new Inbox(async (m) => {
        const now = (inFlight.get(m.key) ?? 0) + 1;
        inFlight.set(m.key, now);
        if (now > 1) overlaps++;
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        // Yield to the event loop so that overlapping calls, if any, would be observed.
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        inFlight.set(m.key, now - 1);
      });
      await subscribe(topic, { groupId: groupName(), fromBeginning: true, concurrency: 3 }, inbox.handler);
      const keys = ['reg-a', 'reg-b', 'reg-c', 'reg-d', 'reg-e'];
      for (let batch = 0; batch < 10; batch++) {
        await bus.publish(
          topic,
          Array.from({ length: 20 }, (_, i) => {
            const seq = batch * 20 + i;
            return { key: keys[seq % keys.length] ?? 'reg-a', value: String(seq) };
          }),
        );
      }

      await until('200 messages', () => inbox.received.length >= 200);
      expect(overlaps).toBe(0);
      expect(maxConcurrent).toBeLessThanOrEqual(3);
      for (const key of keys) {
        const seqs = inbox.received.filter((m) => m.key === key).map((m) => Number(m.value.toString('utf8')));
        const expected = Array.from({ length: 200 }, (_, i) => i).filter((i) => keys[i % keys.length] === key);
        expect(seqs).toEqual(expected);
      }
    });

    it('redelivers a message whose handler rejected, after a backoff, without skipping later ones', async () => {
      const topic = await newTopic();
      let failed = false;
      const handled: string[] = [];
      const inbox = new Inbox((m) => {
        const value = m.value.toString('utf8');
        if (value === 'm2' && !failed) {
          failed = true;
          return Promise.reject(new Error('transient failure'));
        }
        handled.push(value);
        return Promise.resolve();
      });
      await subscribe(topic, { groupId: groupName(), fromBeginning: true }, inbox.handler);
      await bus.publish(topic, text(['m0', 'm1', 'm2', 'm3', 'm4']));

      await until('all five handled', () => handled.length === 5);
      expect(handled).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const deliveries = inbox.received.filter((m) => m.value.toString('utf8') === 'm2');
      expect(deliveries.map((m) => m.attempt)).toEqual([1, 2]);
      expect(deliveries[1]?.offset).toBe(deliveries[0]?.offset);
      expect((deliveries[1]?.timestamp ?? new Date(0)).getTime()).toBe(deliveries[0]?.timestamp.getTime());
    });

    it('without fromBeginning, a new group receives exactly what is published after subscribe resolved', async () => {
      const topic = await newTopic();
      await bus.publish(topic, text(['before-1', 'before-2']));
      const inbox = new Inbox();
      await subscribe(topic, { groupId: groupName() }, inbox.handler);
      await bus.publish(topic, text(['after-1', 'after-2']));

      // Same key: had the earlier messages been delivered, they would have come first.
      await until('the messages published after subscribing', () => inbox.received.length >= 2);
      expect(inbox.values()).toEqual(['after-1', 'after-2']);
    });

    it('stop() ends delivery; the group resumes after its last handled message', async () => {
      const topic = await newTopic();
      const group = groupName();
      const first = new Inbox();
      const subscription = await subscribe(topic, { groupId: group, fromBeginning: true }, first.handler);
      await bus.publish(topic, text(['one']));
      await until('the first message', () => first.received.length === 1);
      await subscription.stop();
      await subscription.stop(); // idempotent

      await bus.publish(topic, text(['two', 'three']));
      const second = new Inbox();
      await subscribe(topic, { groupId: group, fromBeginning: true }, second.handler);
      await until('the messages published while stopped', () => second.received.length >= 2);
      expect(second.values()).toEqual(['two', 'three']);
      expect(first.values()).toEqual(['one']);
    });

    it('stop() waits for the handler call in progress', async () => {
      const topic = await newTopic();
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let finished = false;
      const inbox = new Inbox(async () => {
        await gate;
        finished = true;
      });
      const subscription = await subscribe(topic, { groupId: groupName(), fromBeginning: true }, inbox.handler);
      await bus.publish(topic, text(['slow']));
      await until('the handler to start', () => inbox.received.length === 1);

      const stopped = subscription.stop();
      release();
      await stopped;
      expect(finished).toBe(true);
    });

    it('a message still being retried when stop() is called stays uncommitted and is delivered again', async () => {
      const topic = await newTopic();
      const group = groupName();
      const failing = new Inbox(() => Promise.reject(new Error('always fails')));
      const subscription = await subscribe(topic, { groupId: group, fromBeginning: true }, failing.handler);
      await bus.publish(topic, text(['poison', 'next']));
      await until('a retry of the failing message', () => failing.received.length >= 2);
      await subscription.stop();
      expect(failing.values().every((v) => v === 'poison')).toBe(true);

      const healed = new Inbox();
      await subscribe(topic, { groupId: group, fromBeginning: true }, healed.handler);
      await until('both messages after resubscribing', () => healed.received.length >= 2);
      expect(healed.values()).toEqual(['poison', 'next']);
    });

    it('subscribes to several topics at once', async () => {
      const [t1, t2] = [await newTopic(), await newTopic()];
      const inbox = new Inbox();
      await subscribe([t1, t2], { groupId: groupName(), fromBeginning: true }, inbox.handler);
      await bus.publish(t1, text(['from-1']));
      await bus.publish(t2, text(['from-2']));
      await until('a message from each topic', () => inbox.received.length >= 2);
      expect(new Set(inbox.received.map((m) => `${m.topic}:${m.value.toString('utf8')}`))).toEqual(
        new Set([`${t1}:from-1`, `${t2}:from-2`]),
      );
    });

    it('rejects unknown topics with UnknownTopicError and invalid names with InvalidTopicError', async () => {
      const missing = topicName();
      await expect(bus.publish(missing, text(['x']))).rejects.toBeInstanceOf(UnknownTopicError);
      await expect(bus.subscribe(missing, { groupId: groupName() }, () => Promise.resolve())).rejects.toBeInstanceOf(
        UnknownTopicError,
      );
      await expect(bus.ensureTopics([{ name: 'bad/name' }])).rejects.toBeInstanceOf(InvalidTopicError);
      await expect(bus.publish('', text(['x']))).rejects.toBeInstanceOf(InvalidTopicError);
    });

    it('close() stops its subscriptions, is idempotent, and later calls reject with EventBusClosedError', async () => {
      const other = await subject.create();
      buses.push(other);
      const topic = await newTopic();
      const group = groupName();
      const inbox = new Inbox();
      await subscribe(topic, { groupId: group, fromBeginning: true }, inbox.handler, other);
      await other.publish(topic, text(['before-close']));
      await until('the message before close', () => inbox.received.length === 1);

      await Promise.all([other.close(), other.close()]);
      await other.close();
      await expect(other.publish(topic, text(['x']))).rejects.toBeInstanceOf(EventBusClosedError);
      await expect(other.ping()).rejects.toBeInstanceOf(EventBusClosedError);
      await expect(other.ensureTopics([{ name: topic }])).rejects.toBeInstanceOf(EventBusClosedError);

      // The closed bus' subscription no longer consumes: its group finds the new message uncommitted.
      await bus.publish(topic, text(['after-close']));
      const resumed = new Inbox();
      await subscribe(topic, { groupId: group, fromBeginning: true }, resumed.handler);
      await until('the message published after close', () => resumed.received.length >= 1);
      expect(resumed.values()).toEqual(['after-close']);
      expect(inbox.values()).toEqual(['before-close']);
    });
  });
}
