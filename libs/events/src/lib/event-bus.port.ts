/** DI token under which `EventsModule` provides the configured {@link EventBus}. */
export const EVENT_BUS = Symbol('EVENT_BUS');

/** A topic to create: `partitions` defaults to the adapter's default (6 unless configured). */
export interface TopicSpec {
  name: string;
  partitions?: number;
}

/** A message to publish. */
export interface BusMessage {
  /** Partition key: messages with the same key keep their publish order. Berth uses the registry id. */
  key: string;
  /** The payload, stored as bytes (a string is encoded as UTF-8). */
  value: Buffer | string;
  /** Header names and values (UTF-8 strings), e.g. `berth-event-id`, `traceparent`. */
  headers?: Record<string, string>;
}

/** A message as a subscriber receives it. */
export interface ReceivedMessage {
  topic: string;
  /** Partition the message is stored in (all messages of a key share one). */
  partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  /** The key it was published with. */
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** When the broker stored the message. */
  timestamp: Date;
  /** 1 on the first delivery to this subscription, then 2, 3... while the handler keeps rejecting it. */
  attempt: number;
}

/**
 * Handles one message. Resolving acknowledges it (its offset may then be committed); rejecting makes the bus
 * deliver the same message again after a backoff, and no later message of the same partition is handled
 * before it succeeds. Handlers must be idempotent (dedupe on the event id): delivery is at least once.
 */
export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface SubscribeOptions {
  /** Consumer group. Each group receives every message; members of one group share the partitions. */
  groupId: string;
  /**
   * Where a group with no committed position starts: `true` = the oldest retained message, `false`
   * (default) = the end of the topic when `subscribe` is called. A group that has committed positions
   * always resumes from them.
   */
  fromBeginning?: boolean;
  /**
   * How many messages this subscription may handle at the same time, always for different partitions
   * (so never two of the same key). Default 1.
   */
  concurrency?: number;
}

/** A running subscription. */
export interface Subscription {
  /**
   * Stops delivery: resolves once the handler call in progress (if any) has settled; no handler call
   * starts afterwards. The message being retried is not committed, so the group receives it again when it
   * resubscribes. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * The event bus: durable, partitioned topics with at-least-once delivery to consumer groups
 * (Kafka semantics; an in-process adapter honours the same contract for the embedded mode).
 *
 * Guarantees every adapter keeps, checked by `testing/event-bus.contract.ts`:
 * - each consumer group receives each published message at least once; different groups each receive all;
 * - within a key, a group handles messages in publish order, one at a time;
 * - a rejected message is redelivered after a backoff (never skipped, never committed);
 * - a group's position is committed only after its handler resolved.
 */
export interface EventBus {
  /**
   * Creates the topics that do not exist yet. Idempotent and safe to call concurrently from several
   * processes. An existing topic is left as it is (its partition count is never changed, since that
   * would move keys to other partitions and break per-key order). Rejects with InvalidTopicError for a
   * name Kafka would refuse, InvalidEventBusArgumentError for a partition count below 1.
   */
  ensureTopics(topics: TopicSpec[]): Promise<void>;

  /**
   * Appends `messages` to `topic`, in order. Resolves only once the broker has stored every message
   * (Kafka: acknowledged by all in-sync replicas, acks=all). Rejects with UnknownTopicError when the topic
   * was never created, EventBusUnavailableError when the broker cannot be reached (outcome unknown: a
   * retry may duplicate), EventBusClosedError after `close()`. An empty list resolves immediately.
   */
  publish(topic: string, messages: BusMessage[]): Promise<void>;

  /**
   * Starts delivering the messages of `topic` (or of each of `topics`) to `handler` as member of
   * `options.groupId`. Resolves once the subscription is in place: every message published after that
   * is delivered (and, with `fromBeginning`, every retained one before). Rejects with UnknownTopicError
   * if a topic does not exist, EventBusUnavailableError if the broker cannot be reached at first, in
   * which case nothing keeps running. Once started, broker outages are ridden out: delivery resumes
   * when the broker returns.
   */
  subscribe(topics: string | string[], options: SubscribeOptions, handler: MessageHandler): Promise<Subscription>;

  /**
   * Resolves when the broker answers; rejects with an Error naming the dependency otherwise. Always
   * settles within about two seconds, and succeeds again after the broker restarts, without a new adapter.
   */
  ping(): Promise<void>;

  /** Stops every subscription of this adapter and releases its connections. Idempotent. */
  close(): Promise<void>;

  /**
   * How many messages of each topic `groupId` has yet to handle (end offset minus committed offset, summed over
   * partitions; partitions the group never committed count 0). For the consumer-lag gauge; rejects like `ping`
   * when the broker cannot be reached. Optional: an adapter without it reports no lag.
   */
  consumerLag?(groupId: string, topics: readonly string[]): Promise<ConsumerLag[]>;
}

/** A consumer group's backlog on one topic. */
export interface ConsumerLag {
  topic: string;
  /** Messages published but not yet handled (committed) by the group. */
  lag: number;
}

/** Minimal structured logger (pino-compatible: fields first, then the message). */
export interface EventBusLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** Exponential backoff between redeliveries of a message whose handler rejected. */
export interface RedeliveryBackoff {
  /** Wait before the second attempt, doubled for each further attempt. Default 200 ms. */
  initialMs?: number;
  /** Upper bound of the wait. Default 5000 ms. */
  maxMs?: number;
}
