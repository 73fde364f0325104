import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { InvalidTopicError } from '../errors/invalid-topic.error';
import type { BusMessage, SubscribeOptions, TopicSpec } from '../event-bus.port';

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_TOPIC_LENGTH = 249;
/** More partitions than this is almost certainly a mistake (Kafka's own soft limit is per broker). */
const MAX_PARTITIONS = 10_000;

/** Rejects names Kafka would refuse (kafka: `Topic.validate`), so both adapters accept the same names. */
export function validateTopicName(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new InvalidTopicError(String(topic), 'must be non-empty');
  if (topic.length > MAX_TOPIC_LENGTH) throw new InvalidTopicError(topic, `is longer than ${MAX_TOPIC_LENGTH}`);
  if (topic === '.' || topic === '..') throw new InvalidTopicError(topic, 'cannot be "." or ".."');
  if (!TOPIC_NAME.test(topic)) throw new InvalidTopicError(topic, 'may contain only a-z A-Z 0-9 . _ -');
}

/** Validates an `ensureTopics` argument and resolves default partition counts. */
export function normalizeTopicSpecs(topics: TopicSpec[], defaultPartitions: number): Array<Required<TopicSpec>> {
  if (!Array.isArray(topics)) throw new InvalidEventBusArgumentError('ensureTopics expects an array of topics');
  const seen = new Set<string>();
  return topics.map((spec) => {
    validateTopicName(spec.name);
    if (seen.has(spec.name)) throw new InvalidEventBusArgumentError(`topic "${spec.name}" is listed twice`);
    seen.add(spec.name);
    const partitions = spec.partitions ?? defaultPartitions;
    validatePositiveInt(partitions, `partitions of topic "${spec.name}"`, MAX_PARTITIONS);
    return { name: spec.name, partitions };
  });
}

/** Validates the messages of a `publish` call. */
export function validateMessages(messages: BusMessage[]): void {
  if (!Array.isArray(messages)) throw new InvalidEventBusArgumentError('publish expects an array of messages');
  messages.forEach((m, i) => {
    if (typeof m.key !== 'string') throw new InvalidEventBusArgumentError(`message ${i}: key must be a string`);
    if (typeof m.value !== 'string' && !Buffer.isBuffer(m.value)) {
      throw new InvalidEventBusArgumentError(`message ${i}: value must be a Buffer or a string`);
    }
    for (const [name, value] of Object.entries(m.headers ?? {})) {
      if (typeof value !== 'string')
        throw new InvalidEventBusArgumentError(`message ${i}: header "${name}" must be a string`);
    }
  });
}

/** Validates `subscribe` arguments; returns the topic list and the concurrency. */
export function normalizeSubscription(
  topics: string | string[],
  options: SubscribeOptions,
): { topics: string[]; concurrency: number } {
  const list = typeof topics === 'string' ? [topics] : topics;
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidEventBusArgumentError('subscribe needs at least one topic');
  list.forEach((t) => validateTopicName(t));
  if (new Set(list).size !== list.length) throw new InvalidEventBusArgumentError('subscribe got the same topic twice');
  if (typeof options.groupId !== 'string' || options.groupId.trim() === '') {
    throw new InvalidEventBusArgumentError('subscribe needs a non-empty groupId');
  }
  const concurrency = options.concurrency ?? 1;
  validatePositiveInt(concurrency, 'concurrency', 1_000);
  return { topics: list, concurrency };
}

export function validatePositiveInt(value: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidEventBusArgumentError(`${what} must be an integer between 1 and ${max}, got ${String(value)}`);
  }
}
