import { KafkaJSError } from 'kafkajs';
import type { Consumer, EachMessagePayload, IHeaders, Kafka, KafkaMessage, RetryOptions } from 'kafkajs';
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import type { EventBusLogger, MessageHandler, ReceivedMessage, RedeliveryBackoff } from '../../event-bus.port';
import { describeError, redeliveryDelayMs, sleep, withTimeout } from '../../util/backoff.util';
import { toBusError } from './kafka-errors.util';

/** Start positions for partitions of a group that has committed none yet: topic → partition → offset. */
export type StartPins = Map<string, Map<number, string>>;

export interface KafkaSubscriptionConfig {
  topics: string[];
  groupId: string;
  fromBeginning: boolean;
  concurrency: number;
  handler: MessageHandler;
  backoff: Required<RedeliveryBackoff>;
  retry: RetryOptions;
  subscribeTimeoutMs: number;
  maxFetchWaitMs: number;
  sessionTimeoutMs: number;
  logger: EventBusLogger | undefined;
}

const MAX_RESTART_DELAY_MS = 30_000;
/** How often a handler call in progress heartbeats (kafkajs sends at most one per heartbeat interval). */
const HANDLER_HEARTBEAT_MS = 1_000;

/**
 * One kafkajs consumer serving one `subscribe` call.
 *
 * At least once: kafkajs resolves an offset only after `eachMessage` returned, and commits resolved offsets
 * after each batch (autoCommit). A rejected handler is retried here, inside `eachMessage`, after a backoff,
 * so no later message of the partition is handled before it and its offset is never resolved. While
 * retrying we heartbeat: a rebalance then aborts the retry (the heartbeat throws) and the partition's new
 * owner receives the message again from the last commit.
 *
 * kafkajs heartbeats only between messages. A handler call can last longer than the session timeout (a scan,
 * a slow webhook), so while one runs we heartbeat on a timer: the member stays in its group, and the session
 * timeout only has to cover a dead process, which keeps failover (and recovery after a broker restart, when
 * the group must first forget its old members) quick.
 */
export class KafkaSubscription {
  private readonly consumer: Consumer;
  private readonly abort = new AbortController();
  private stopping: Promise<void> | undefined;
  private joinedOnce = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartAttempt = 0;

  constructor(
    kafka: Kafka,
    private readonly config: KafkaSubscriptionConfig,
  ) {
    this.consumer = kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: config.maxFetchWaitMs,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
      retry: {
        ...config.retry,
        // Retriable failures (broker down, restarted, rebalancing) restart the consumer until `stop()`.
        restartOnFailure: () => Promise.resolve(!this.stopped),
      },
    });
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Connects, subscribes and resolves once the consumer has joined its group. `pins` hold the start
   * offsets of partitions the group has never committed (subscribing with fromBeginning=false): they are
   * applied on the first join, so messages published after `start` resolved can never be skipped by
   * kafkajs resolving "latest" only at its first fetch.
   */
  async start(pins: StartPins): Promise<void> {
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    const joined = new Promise<void>((resolve, reject) => {
      this.consumer.on(GROUP_JOIN, (event) => {
        this.restartAttempt = 0;
        if (this.joinedOnce) return;
        this.joinedOnce = true;
        for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
          for (const partition of partitions) {
            const offset = pins.get(topic)?.get(partition);
            if (offset !== undefined) this.consumer.seek({ topic, partition, offset });
          }
        }
        resolve();
      });
      this.consumer.on(CRASH, (event) => {
        const { error, restart } = event.payload;
        if (!this.joinedOnce) {
          reject(toBusError(error, `joining consumer group "${this.config.groupId}"`, this.config.topics[0]));
          return;
        }
        this.config.logger?.warn(
          { groupId: this.config.groupId, topics: this.config.topics, err: error, restart },
          `kafka event bus: consumer crashed (${describeError(error)}); restarting`,
        );
        if (!restart && !this.stopped) this.scheduleRestart();
      });
    });
    // A crash may reject `joined` before we await it; mark it handled so Node does not report it.
    joined.catch(() => undefined);
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.config.topics, fromBeginning: this.config.fromBeginning });
      await this.consumer.run({
        autoCommit: true,
        partitionsConsumedConcurrently: this.config.concurrency,
        eachMessage: (payload) => this.onMessage(payload),
      });
      await withTimeout(
        joined,
        this.config.subscribeTimeoutMs,
        () =>
          new EventBusUnavailableError(
            `kafka: consumer group "${this.config.groupId}" not joined within ${this.config.subscribeTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      await this.stop();
      throw toBusError(err, `subscribing group "${this.config.groupId}"`, this.config.topics[0]);
    }
  }

  /** Leaves the group after the handler call in progress settled. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      clearTimeout(this.restartTimer);
      try {
        await this.consumer.disconnect();
      } catch (err) {
        this.config.logger?.warn(
          { groupId: this.config.groupId, err },
          `kafka event bus: consumer did not disconnect cleanly (${describeError(err)})`,
        );
      }
    })();
    return this.stopping;
  }

  /** kafkajs does not restart a consumer after a non-retriable crash; a daemon must, so we do, with backoff. */
  private scheduleRestart(): void {
    const delay = Math.min(1_000 * 2 ** Math.min(this.restartAttempt, 5), MAX_RESTART_DELAY_MS);
    this.restartAttempt++;
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.consumer
        .connect()
        .then(() =>
          this.consumer.run({
            autoCommit: true,
            partitionsConsumedConcurrently: this.config.concurrency,
            eachMessage: (payload) => this.onMessage(payload),
          }),
        )
        .catch((err: unknown) => {
          this.config.logger?.error(
            { groupId: this.config.groupId, err },
            `kafka event bus: consumer restart failed (${describeError(err)})`,
          );
          if (!this.stopped) this.scheduleRestart();
        });
    }, delay);
    this.restartTimer.unref();
  }

  private async onMessage({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const base = toReceivedMessage(topic, partition, message);
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) {
        // Thrown, not returned: a return would let kafkajs resolve (and commit) the offset.
        throw new KafkaJSError('subscription stopped; message left uncommitted for redelivery', { retriable: true });
      }
      const beat = setInterval(() => {
        // A failure here (e.g. a rebalance) resurfaces at kafkajs' own heartbeat after the handler returns.
        heartbeat().catch(() => undefined);
      }, HANDLER_HEARTBEAT_MS);
      beat.unref();
      try {
        await this.config.handler({ ...base, attempt });
        return;
      } catch (err) {
        this.config.logger?.warn(
          { topic, partition, offset: message.offset, groupId: this.config.groupId, attempt, err },
          `kafka event bus: handler rejected (${describeError(err)}); redelivering after a backoff`,
        );
      } finally {
        clearInterval(beat);
      }
      await sleep(redeliveryDelayMs(attempt, this.config.backoff), this.abort.signal);
      if (!this.stopped) await heartbeat();
    }
  }
}

function toReceivedMessage(topic: string, partition: number, message: KafkaMessage): Omit<ReceivedMessage, 'attempt'> {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ?? Buffer.alloc(0),
    headers: toHeaders(message.headers),
    timestamp: new Date(Number(message.timestamp)),
  };
}

function toHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    // A repeated header arrives as an array; like most HTTP stacks we keep the last value.
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
