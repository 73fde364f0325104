import { EventBusClosedError } from '../../errors/event-bus-closed.error';
import type {
  ConsumerLag,
  BusMessage,
  EventBus,
  EventBusLogger,
  MessageHandler,
  RedeliveryBackoff,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../../event-bus.port';
import { resolveBackoff } from '../../util/backoff.util';
import {
  normalizeSubscription,
  normalizeTopicSpecs,
  validateMessages,
  validatePositiveInt,
  validateTopicName,
} from '../../util/validate-bus-arguments.util';
import { InProcessBroker, Member } from './in-process-broker';

export interface InProcessEventBusOptions {
  /**
   * The broker holding topics and group positions. Buses sharing a broker see each other's messages, as
   * Kafka clients of one cluster do. Default: a new broker private to this bus.
   */
  broker?: InProcessBroker;
  /** Partitions of a topic created without an explicit count. Default 6 (as the Kafka adapter). */
  defaultPartitions?: number;
  /** Backoff between redeliveries of a rejected message. Default 200 ms doubling up to 5 s. */
  redelivery?: RedeliveryBackoff;
  /** Where handler failures are reported. Default: nowhere. */
  logger?: EventBusLogger;
}

const NAME = 'in-process event bus';

/** Runs a synchronous body as a promise, so a throw becomes a rejection. */
function settle<T>(body: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(body()));
}

/**
 * EventBus without a server, for the embedded single-process mode and for tests: per topic an append-only
 * in-memory log, per consumer group a committed offset, the same delivery guarantees as Kafka within one
 * process. Nothing survives the process, which the embedded mode accepts (its outbox lives in Postgres).
 */
export class InProcessEventBus implements EventBus {
  private readonly broker: InProcessBroker;
  private readonly defaultPartitions: number;
  private readonly backoff: Required<RedeliveryBackoff>;
  private readonly members = new Set<Member>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: InProcessEventBusOptions = {}) {
    this.broker = options.broker ?? new InProcessBroker();
    this.defaultPartitions = options.defaultPartitions ?? 6;
    validatePositiveInt(this.defaultPartitions, 'defaultPartitions');
    this.backoff = resolveBackoff(options.redelivery);
  }

  ensureTopics(topics: TopicSpec[]): Promise<void> {
    return settle(() => {
      this.assertOpen();
      for (const spec of normalizeTopicSpecs(topics, this.defaultPartitions)) {
        this.broker.createTopic(spec.name, spec.partitions);
      }
    });
  }

  publish(topic: string, messages: BusMessage[]): Promise<void> {
    return settle(() => {
      this.assertOpen();
      validateTopicName(topic);
      validateMessages(messages);
      this.broker.append(
        topic,
        messages.map((m) => ({
          key: m.key,
          // Copied: the caller may reuse its buffer once publish resolved.
          value: typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value),
          headers: { ...(m.headers ?? {}) },
        })),
      );
    });
  }

  subscribe(topics: string | string[], options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    return settle(() => {
      this.assertOpen();
      const { topics: list, concurrency } = normalizeSubscription(topics, options);
      const member = new Member(options.groupId, handler, concurrency, this.backoff, this.options.logger);
      this.broker.join(member, list, options.fromBeginning ?? false);
      this.members.add(member);
      let stopping: Promise<void> | undefined;
      return {
        stop: () => {
          stopping ??= this.broker.leave(member).finally(() => this.members.delete(member));
          return stopping;
        },
      };
    });
  }

  ping(): Promise<void> {
    return settle(() => this.assertOpen());
  }

  consumerLag(groupId: string, topics: readonly string[]): Promise<ConsumerLag[]> {
    return settle(() => {
      this.assertOpen();
      return topics.map((topic) => ({ topic, lag: this.broker.lag(groupId, topic) }));
    });
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.members].map((m) => this.broker.leave(m))).then(() => {
      this.members.clear();
    });
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new EventBusClosedError(NAME);
  }
}
