import { Kafka, Partitioners, logLevel as KafkaJsLogLevel } from 'kafkajs';
import type { Admin, LogEntry, Producer, RetryOptions, logCreator } from 'kafkajs';
import { EventBusClosedError } from '../../errors/event-bus-closed.error';
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import { InvalidEventBusArgumentError } from '../../errors/invalid-event-bus-argument.error';
import { UnknownTopicError } from '../../errors/unknown-topic.error';
import type {
  BusMessage,
  ConsumerLag,
  EventBus,
  EventBusLogger,
  MessageHandler,
  RedeliveryBackoff,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../../event-bus.port';
import { describeError, resolveBackoff, sleep, withTimeout } from '../../util/backoff.util';
import {
  normalizeSubscription,
  normalizeTopicSpecs,
  validateMessages,
  validatePositiveInt,
  validateTopicName,
} from '../../util/validate-bus-arguments.util';
import { findKafkaErrorType, toBusError } from './kafka-errors.util';
import type { KafkaEventBusOptions, KafkaLogLevel } from './kafka-event-bus.options';
import { KafkaSubscription } from './kafka-subscription';
import type { StartPins } from './kafka-subscription';

/** Answers a broker gives while a new topic's partition leaders are still being elected. */
const SETTLING_ERRORS = ['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION'];

const LEVELS: Record<KafkaLogLevel, KafkaJsLogLevel> = {
  nothing: KafkaJsLogLevel.NOTHING,
  error: KafkaJsLogLevel.ERROR,
  warn: KafkaJsLogLevel.WARN,
  info: KafkaJsLogLevel.INFO,
  debug: KafkaJsLogLevel.DEBUG,
};

/**
 * Retries of every kafkajs operation, spelled out because kafkajs silently switches to much shorter ones
 * when NODE_ENV=test, and tests must exercise what production runs. kafkajs' defaults, except that one
 * wait is capped at 5 s (not 30 s): a consumer that crashed while the broker was down restarts after at
 * most that, so delivery resumes within seconds of the broker's return.
 */
const RETRY: RetryOptions = { initialRetryTime: 300, retries: 5, maxRetryTime: 5_000, factor: 0.2, multiplier: 2 };

/** Forwards kafkajs' log entries to an EventBusLogger (pino-style: fields, then message). */
function forwardLogs(logger: EventBusLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const entry = { ...fields, kafkaNamespace: namespace };
      const text = `kafkajs: ${String(message)}`;
      switch (level) {
        case KafkaJsLogLevel.ERROR:
          logger.error(entry, text);
          break;
        case KafkaJsLogLevel.WARN:
          logger.warn(entry, text);
          break;
        case KafkaJsLogLevel.INFO:
          logger.info(entry, text);
          break;
        case KafkaJsLogLevel.DEBUG:
        case KafkaJsLogLevel.NOTHING:
          logger.debug(entry, text);
          break;
      }
    };
}

/**
 * EventBus on Apache Kafka through kafkajs.
 *
 * - publish: one producer per adapter, acks=all, at most one request in flight per broker connection so
 *   retries cannot reorder messages of a key; keys are partitioned with the Java client's murmur2.
 * - subscribe: one consumer (and consumer group member) per call; see KafkaSubscription for the
 *   at-least-once and redelivery mechanics.
 * - topics are never auto-created: `ensureTopics` creates them with explicit partitions and replication.
 * - ping uses its own admin client without retries, dropped and recreated after any failure, so a broker
 *   restart cannot leave it wedged on a dead connection.
 */
export class KafkaEventBus implements EventBus {
  private readonly kafka: Kafka;
  /** Same settings without retries: a ping must answer within its bound, not retry for seconds. */
  private readonly pingKafka: Kafka;
  private readonly defaultPartitions: number;
  private readonly pingTimeoutMs: number;
  private readonly backoff: Required<RedeliveryBackoff>;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Topics seen to exist, so publish checks the metadata once per topic, not per call. */
  private readonly knownTopics = new Set<string>();
  private producer: Promise<Producer> | undefined;
  private admin: Promise<Admin> | undefined;
  private pingAdmin: Promise<Admin> | undefined;
  private closing: Promise<void> | undefined;
  private readonly prefix: string;

  constructor(private readonly options: KafkaEventBusOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new InvalidEventBusArgumentError('kafka: at least one broker is required');
    }
    if (!options.clientId) throw new InvalidEventBusArgumentError('kafka: clientId is required');
    const namespace = options.namespace ?? '';
    if (!/^[a-zA-Z0-9_-]{0,64}$/.test(namespace)) {
      throw new InvalidEventBusArgumentError('kafka: namespace must be letters, digits, _ or -, at most 64');
    }
    this.prefix = namespace ? `${namespace}.` : '';
    this.defaultPartitions = options.defaultPartitions ?? 6;
    validatePositiveInt(this.defaultPartitions, 'defaultPartitions');
    if (options.replicationFactor !== undefined) validatePositiveInt(options.replicationFactor, 'replicationFactor');
    this.pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.backoff = resolveBackoff(options.redelivery);
    const logger = options.logger;
    const config = {
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 1_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: logger ? LEVELS[options.logLevel ?? 'warn'] : KafkaJsLogLevel.NOTHING,
      logCreator: logger ? forwardLogs(logger) : () => () => undefined,
    };
    this.kafka = new Kafka({ ...config, retry: RETRY });
    // kafkajs connects a client's cluster with the client-level retry, whatever the admin's own says.
    this.pingKafka = new Kafka({ ...config, retry: { retries: 0 } });
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    const specs = normalizeTopicSpecs(topics, this.defaultPartitions).map((s) => ({ ...s, name: this.ns(s.name) }));
    if (specs.length === 0) return;
    await this.withAdmin('creating topics', async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length > 0) {
        const replicationFactor =
          this.options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
        // Resolves false when another process created them first: that is success too.
        await admin.createTopics({
          waitForLeaders: true,
          timeout: 10_000,
          topics: missing.map((s) => ({ topic: s.name, numPartitions: s.partitions, replicationFactor })),
        });
      }
    });
    for (const spec of specs) this.knownTopics.add(spec.name);
  }

  async publish(topic: string, messages: BusMessage[]): Promise<void> {
    this.assertOpen();
    validateTopicName(topic);
    validateMessages(messages);
    if (messages.length === 0) return;
    topic = this.ns(topic);
    await this.assertTopicsExist([topic]);
    const producer = await this.getProducer();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      });
    } catch (err) {
      if (findKafkaErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) this.knownTopics.delete(topic);
      throw toBusError(err, `publishing to "${topic}"`, topic);
    }
  }

  async subscribe(
    topics: string | string[],
    options: SubscribeOptions,
    handler: MessageHandler,
  ): Promise<Subscription> {
    this.assertOpen();
    const normalized = normalizeSubscription(topics, options);
    const list = normalized.topics.map((t) => this.ns(t));
    const { concurrency } = normalized;
    const groupId = this.ns(options.groupId);
    await this.assertTopicsExist(list);
    const fromBeginning = options.fromBeginning ?? false;
    const pins = fromBeginning ? new Map() : await this.startPins(groupId, list);
    this.assertOpen();
    const subscription = new KafkaSubscription(this.kafka, {
      topics: list,
      groupId,
      fromBeginning,
      concurrency,
      handler: this.prefix ? (m) => handler({ ...m, topic: m.topic.slice(this.prefix.length) }) : handler,
      backoff: this.backoff,
      retry: RETRY,
      subscribeTimeoutMs: this.options.subscribeTimeoutMs ?? 30_000,
      maxFetchWaitMs: this.options.maxFetchWaitMs ?? 1_000,
      sessionTimeoutMs: this.options.sessionTimeoutMs ?? 10_000,
      logger: this.options.logger,
    });
    this.subscriptions.add(subscription);
    try {
      await subscription.start(pins);
    } catch (err) {
      this.subscriptions.delete(subscription);
      throw err;
    }
    return {
      stop: () => subscription.stop().finally(() => this.subscriptions.delete(subscription)),
    };
  }

  async consumerLag(groupId: string, topics: readonly string[]): Promise<ConsumerLag[]> {
    return this.withAdmin(`reading the lag of group "${groupId}"`, async (admin) => {
      const committed = await admin.fetchOffsets({ groupId: this.ns(groupId), topics: topics.map((t) => this.ns(t)) });
      const result: ConsumerLag[] = [];
      for (const { topic, partitions } of committed) {
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, Number(e.high)]));
        let lag = 0;
        for (const p of partitions) {
          const at = Number(p.offset);
          const end = ends.get(p.partition);
          if (at >= 0 && end !== undefined) lag += Math.max(0, end - at);
        }
        result.push({ topic: topic.slice(this.prefix.length), lag });
      }
      return result;
    });
  }

  async ping(): Promise<void> {
    if (this.closing) throw new EventBusClosedError('kafka');
    const deadline = Date.now() + this.pingTimeoutMs;
    const timeoutError = (): Error =>
      new EventBusUnavailableError(
        `kafka: no answer from ${this.options.brokers.join(',')} within ${this.pingTimeoutMs} ms`,
      );
    // A kept admin may hold a connection the broker dropped (restart): on failure, retry once on a new one.
    for (let attempt = 1; ; attempt++) {
      const admin = (this.pingAdmin ??= this.connectAdmin(this.pingKafka, { retries: 0 }));
      try {
        await withTimeout(
          admin.then((a) => a.describeCluster()),
          Math.max(deadline - Date.now(), 1),
          timeoutError,
        );
        return;
      } catch (err) {
        if (this.pingAdmin === admin) this.pingAdmin = undefined;
        void disconnectQuietly(admin);
        if (attempt >= 2 || deadline - Date.now() < 200) {
          throw err instanceof EventBusUnavailableError
            ? err
            : new EventBusUnavailableError(
                `kafka: ${this.options.brokers.join(',')} unreachable: ${describeError(err)}`,
                {
                  cause: err,
                },
              );
        }
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
      this.subscriptions.clear();
      const clients = [this.producer, this.admin, this.pingAdmin];
      this.producer = this.admin = this.pingAdmin = undefined;
      await Promise.allSettled(clients.map((c) => (c ? disconnectQuietly(c) : undefined)));
    })();
    return this.closing;
  }

  /** The cluster-side name of a topic or group (with the namespace). */
  private ns(name: string): string {
    return `${this.prefix}${name}`;
  }

  private assertOpen(): void {
    if (this.closing) throw new EventBusClosedError('kafka');
  }

  private async assertTopicsExist(topics: string[]): Promise<void> {
    if (topics.every((t) => this.knownTopics.has(t))) return;
    const existing = new Set(await this.withAdmin('listing topics', (admin) => admin.listTopics()));
    for (const topic of topics) {
      if (!existing.has(topic)) throw new UnknownTopicError(topic);
      this.knownTopics.add(topic);
    }
  }

  /**
   * For partitions the group never committed: the current end offsets (see KafkaSubscription.start). Right after
   * a topic is created (by this process or another at the same moment), brokers may still answer "not the leader"
   * or "leader not available" while the election settles: such answers are retried a few times, each on a fresh
   * admin client (fresh metadata), before the subscribe fails.
   */
  private async startPins(groupId: string, topics: string[]): Promise<StartPins> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readStartPins(groupId, topics);
      } catch (err) {
        const settling = SETTLING_ERRORS.some((type) => findKafkaErrorType(err, type));
        if (!settling || attempt >= 6) throw err;
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
        this.assertOpen();
      }
    }
  }

  private async readStartPins(groupId: string, topics: string[]): Promise<StartPins> {
    return this.withAdmin(`reading offsets of group "${groupId}"`, async (admin) => {
      const pins: StartPins = new Map();
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const { topic, partitions } of committed) {
        const uncommitted = new Set(partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition));
        if (uncommitted.size === 0) continue;
        const ends = await admin.fetchTopicOffsets(topic);
        pins.set(topic, new Map(ends.filter((e) => uncommitted.has(e.partition)).map((e) => [e.partition, e.high])));
      }
      return pins;
    });
  }

  private getProducer(): Promise<Producer> {
    this.assertOpen(); // never create a client once close() began: nothing would release it
    if (!this.producer) {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        // At-least-once with idempotent consumers needs no idempotent producer; one request in flight keeps
        // a key's order across retries, and a bounded retry lets publish fail while Kafka is down.
        idempotent: false,
        maxInFlightRequests: 1,
        retry: RETRY,
      });
      const connecting = producer.connect().then(() => producer);
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
    }
    return this.producer.catch((err: unknown) => {
      throw toBusError(err, 'connecting the producer');
    });
  }

  private connectAdmin(kafka: Kafka, retry: RetryOptions): Promise<Admin> {
    const admin = kafka.admin({ retry });
    return admin.connect().then(
      () => admin,
      async (err: unknown) => {
        await admin.disconnect().catch(() => undefined);
        throw err;
      },
    );
  }

  /** Runs `fn` on the shared admin; after a failure the admin is replaced, so it never stays wedged. */
  private async withAdmin<T>(action: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    this.assertOpen();
    const admin = (this.admin ??= this.connectAdmin(this.kafka, RETRY));
    try {
      return await fn(await admin);
    } catch (err) {
      if (this.admin === admin) this.admin = undefined;
      void disconnectQuietly(admin);
      throw toBusError(err, action);
    }
  }
}

async function disconnectQuietly(client: Promise<Admin | Producer>): Promise<void> {
  try {
    await (await client).disconnect();
  } catch {
    // Already failed or disconnected: nothing left to release.
  }
}
