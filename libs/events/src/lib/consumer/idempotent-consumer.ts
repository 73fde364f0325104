import { berthMetrics, withConsumerSpan, type BusSystem, type ConsumerLagSample } from '@berth/telemetry';
import type { DataSource, EntityManager } from 'typeorm';
import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.adapter';
import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import type { EventBus, EventBusLogger, MessageHandler, ReceivedMessage, Subscription } from '../event-bus.port';
import { decodeEventEnvelope, EventHeaders } from '../event-envelope.codec';
import type { EventEnvelope } from '../event-envelope.model';
import { describeError, sleep } from '../util/backoff.util';
import { validatePositiveInt, validateTopicName } from '../util/validate-bus-arguments.util';
import { buildDeadLetterMessage } from './dead-letter';
import { jitteredBackoffMs, resolveRetryBackoff } from './jittered-backoff.util';
import type { RetryBackoff } from './jittered-backoff.util';
import { PoisonEventError } from './poison-event.error';
import { claimProcessedEvent, collectProcessedEvents, isEventProcessed } from './processed-events';
import { isTransientInfrastructureError } from './transient-error.util';

/**
 * How a consumer records that it handled an event:
 * - `transaction`: the handler runs inside a database transaction that first records the event id in
 *   `processed_events`; the handler's own writes through `context.em` commit together with that record, or neither
 *   does. Exactly-once effect for database work, even when two deliveries of one event race. Keep such handlers
 *   short: the transaction (and a pooled connection) stays open while they run.
 * - `after-success`: the handler runs outside any transaction and the id is recorded once it resolved. For handlers
 *   whose effect is elsewhere (an HTTP call, a blob copy): at least once, deduplicated for every delivery that comes
 *   after the record.
 */
export type IdempotencyMode = 'transaction' | 'after-success';

/** What a handler receives besides the event. */
export interface IdempotentEventContext {
  /**
   * `transaction` mode: the EntityManager of the transaction that records the event; write through it to make the
   * effect atomic with the record. `after-success` mode: the DataSource's manager (no transaction).
   */
  em: EntityManager;
  /** The bus message the event came in (topic, partition, offset, headers). */
  message: ReceivedMessage;
  /** 1 on the first counted attempt of this delivery, then 2, 3... up to `maxAttempts`. */
  attempt: number;
  /** Aborted when the consumer stops: long handlers should give up (throw) so that stopping is prompt. */
  signal: AbortSignal;
}

/** Handles one event. Resolve when done; throw to retry (PoisonEventError: dead-letter at once). */
export type IdempotentEventHandler<T> = (event: EventEnvelope<T>, context: IdempotentEventContext) => Promise<void>;

/** Settings of an IdempotentConsumer. */
export interface IdempotentConsumerOptions<T = unknown> {
  /** The topic or topics to consume. */
  topics: string | string[];
  /** The consumer group: every group receives every event; its processed-event records are its own. */
  groupId: string;
  /** Where `processed_events` lives (Berth's schema). */
  dataSource: DataSource;
  /** The event handler. */
  handler: IdempotentEventHandler<T>;
  /** Where events go after their last failed attempt, e.g. `RegistryTopics.DeadLetter`. Must exist. */
  deadLetterTopic: string;
  /** See IdempotencyMode. Default `transaction`. */
  mode?: IdempotencyMode;
  /** Handler attempts before an event is dead-lettered (transient infrastructure failures do not count). Default 5. */
  maxAttempts?: number;
  /** Waits between attempts: exponential with jitter. Default 200 ms doubling up to 10 s. */
  backoff?: Partial<RetryBackoff>;
  /** Validates and converts the envelope's `data`; a throw dead-letters the event at once. */
  parseData?: (data: unknown) => T;
  /**
   * Which handler errors are outages to wait out rather than attempts to count. Default:
   * isTransientInfrastructureError (Postgres unreachable, serialization failures, the bus unavailable).
   */
  isTransient?: (err: unknown) => boolean;
  /** See SubscribeOptions.fromBeginning. Default false. */
  fromBeginning?: boolean;
  /** See SubscribeOptions.concurrency (partitions handled at once). Default 1. */
  concurrency?: number;
  /** Processed-event records older than this are deleted. Default 7 days (Kafka's default topic retention). */
  processedRetentionMs?: number;
  /** How often old records are deleted. 0 disables it (a scheduled job does it instead). Default 1 hour. */
  gcIntervalMs?: number;
  /** Where failures are reported. Default: nowhere. */
  logger?: EventBusLogger;
  /**
   * How often the group's lag is read from the bus for the `berth.events.consumer.lag` gauge (when the adapter
   * can tell). 0 disables it. Default 15 s.
   */
  lagIntervalMs?: number;
}

/** Counts since the consumer was created. */
export interface IdempotentConsumerStats {
  /** Events whose handler succeeded and whose record was written. */
  handled: number;
  /** Deliveries skipped because the group had recorded the event already. */
  duplicates: number;
  /** Handler attempts that failed (counted or transient). */
  failedAttempts: number;
  /** Messages parked on the dead-letter topic. */
  deadLettered: number;
}

type AttemptOutcome = { kind: 'handled' | 'duplicate' } | { kind: 'failed' | 'poison' | 'transient'; error: unknown };

/** Rejection used to leave a message uncommitted when the consumer stops; the bus redelivers it later. */
class ConsumerStoppedError extends Error {
  constructor(groupId: string) {
    super(`idempotent consumer "${groupId}" is stopping; the message stays uncommitted`);
    this.name = new.target.name;
  }
}

const DEFAULT_BACKOFF: RetryBackoff = { initialMs: 200, maxMs: 10_000 };
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Makes an event handler idempotent on the event id and resilient:
 * 1. decodes the envelope (`decodeEventEnvelope`, plus `parseData`); an undecodable message is dead-lettered at once;
 * 2. skips events the group has recorded in `processed_events`;
 * 3. runs the handler and records the event id (atomically with the handler's writes in `transaction` mode, right
 *    after success in `after-success` mode);
 * 4. on failure retries with exponential backoff and jitter, up to `maxAttempts` counted attempts, then publishes the
 *    original message (key, value and headers, plus `berth-error`, `berth-attempts` and the DeadLetterHeaders) to
 *    the dead-letter topic and moves on. Outages of Postgres or the bus are waited out without counting, so they
 *    never dead-letter a good event; the dead-letter publish itself is retried until it succeeds.
 *
 * While an event is retried, later events of its partition wait (the bus hands over one message per key at a time),
 * which keeps per-registry order. A dead-lettered event is not recorded as processed: replaying it from the
 * dead-letter topic runs the handler again. Old records are garbage collected every `gcIntervalMs`.
 */
export class IdempotentConsumer<T = unknown> {
  /** The MessageHandler given to the bus; exposed so tests and tools can feed messages directly. */
  readonly handle: MessageHandler = (message) => this.process(message);

  private readonly topics: string[];
  private readonly mode: IdempotencyMode;
  private readonly maxAttempts: number;
  private readonly backoff: RetryBackoff;
  private readonly isTransient: (err: unknown) => boolean;
  private readonly retentionMs: number;
  private readonly gcIntervalMs: number;
  private readonly abort = new AbortController();
  private readonly counters: IdempotentConsumerStats = {
    handled: 0,
    duplicates: 0,
    failedAttempts: 0,
    deadLettered: 0,
  };
  private subscription: Subscription | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private lastLag: ConsumerLagSample[] = [];
  private stopObservingLag: (() => void) | undefined;
  private readonly busSystem: BusSystem;
  private collecting: Promise<number> | undefined;

  /**
   * Validates the options (throws InvalidEventBusArgumentError / InvalidTopicError); does not subscribe yet (see
   * `start()`, or use `consume()`).
   */
  constructor(
    private readonly bus: EventBus,
    private readonly options: IdempotentConsumerOptions<T>,
  ) {
    if (options.dataSource?.options?.type !== 'postgres') {
      throw new InvalidEventBusArgumentError('idempotent consumer: dataSource must be a postgres DataSource');
    }
    if (typeof options.groupId !== 'string' || options.groupId.trim() === '') {
      throw new InvalidEventBusArgumentError('idempotent consumer: groupId must be a non-empty string');
    }
    if (typeof options.handler !== 'function') {
      throw new InvalidEventBusArgumentError('idempotent consumer: handler must be a function');
    }
    this.topics = typeof options.topics === 'string' ? [options.topics] : [...(options.topics ?? [])];
    if (this.topics.length === 0)
      throw new InvalidEventBusArgumentError('idempotent consumer: topics must not be empty');
    this.topics.forEach((topic) => validateTopicName(topic));
    validateTopicName(options.deadLetterTopic);
    if (this.topics.includes(options.deadLetterTopic)) {
      throw new InvalidEventBusArgumentError('idempotent consumer: the dead-letter topic cannot be one it consumes');
    }
    this.mode = options.mode ?? 'transaction';
    if (this.mode !== 'transaction' && this.mode !== 'after-success') {
      throw new InvalidEventBusArgumentError(`idempotent consumer: unknown mode ${JSON.stringify(this.mode)}`);
    }
    this.maxAttempts = options.maxAttempts ?? 5;
    validatePositiveInt(this.maxAttempts, 'maxAttempts', 1_000);
    this.backoff = resolveRetryBackoff(options.backoff, DEFAULT_BACKOFF);
    this.isTransient = options.isTransient ?? isTransientInfrastructureError;
    this.retentionMs = options.processedRetentionMs ?? 7 * DAY_MS;
    validatePositiveInt(this.retentionMs, 'processedRetentionMs');
    this.gcIntervalMs = options.gcIntervalMs ?? 60 * 60 * 1000;
    this.busSystem = bus instanceof KafkaEventBus ? 'kafka' : 'in_process';
    if (this.gcIntervalMs !== 0) validatePositiveInt(this.gcIntervalMs, 'gcIntervalMs');
  }

  /** The consumer group. */
  get groupId(): string {
    return this.options.groupId;
  }

  /** A snapshot of the counters. */
  stats(): IdempotentConsumerStats {
    return { ...this.counters };
  }

  /**
   * Subscribes (rejects as `EventBus.subscribe` does: UnknownTopicError, EventBusUnavailableError; it may then be
   * called again) and starts the periodic garbage collection. Idempotent; rejects once stopped.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new ConsumerStoppedError(this.groupId));
    this.starting ??= (async () => {
      this.subscription = await this.bus.subscribe(
        this.topics,
        { groupId: this.groupId, fromBeginning: this.options.fromBeginning, concurrency: this.options.concurrency },
        this.handle,
      );
      if (this.gcIntervalMs > 0 && !this.stopping) {
        this.gcTimer = setInterval(() => {
          this.collectGarbage().catch((err: unknown) =>
            this.options.logger?.warn(
              { err, groupId: this.groupId },
              `idempotent consumer: processed_events cleanup failed (${describeError(err)}); retrying later`,
            ),
          );
        }, this.gcIntervalMs);
        this.gcTimer.unref();
      }
      this.startLagSampling();
    })().catch((err: unknown) => {
      this.starting = undefined; // a failed start (topic missing, bus down) may be retried
      throw err;
    });
    return this.starting;
  }

  /**
   * Stops: waits and retries are interrupted, the handler call in progress is awaited (its `signal` aborts), the
   * message being worked on stays uncommitted (redelivered to the group later), and the subscription ends.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      clearInterval(this.gcTimer);
      clearInterval(this.lagTimer);
      this.stopObservingLag?.();
      await this.starting?.catch(() => undefined);
      await this.subscription?.stop();
      await this.collecting?.catch(() => undefined);
    })();
    return this.stopping;
  }

  /** Deletes this group's processed-event records older than `processedRetentionMs`; resolves with the count. */
  collectGarbage(): Promise<number> {
    this.collecting ??= collectProcessedEvents(this.options.dataSource, {
      groupId: this.groupId,
      olderThanMs: this.retentionMs,
      signal: this.abort.signal,
    }).finally(() => {
      this.collecting = undefined;
    });
    return this.collecting;
  }

  /** The lag this consumer last read, per topic (empty until the first reading, or when the bus cannot tell). */
  lag(): readonly ConsumerLagSample[] {
    return this.lastLag;
  }

  /** Reads the group's lag from the bus now (for the gauge; also used by tests). Never rejects. */
  async sampleLag(): Promise<void> {
    if (!this.bus.consumerLag) return;
    try {
      const lags = await this.bus.consumerLag(this.groupId, this.topics);
      this.lastLag = lags.map((l) => ({ group: this.groupId, topic: l.topic, lag: l.lag }));
    } catch (err) {
      this.options.logger?.debug({ err, groupId: this.groupId }, 'idempotent consumer: could not read the lag');
    }
  }

  private startLagSampling(): void {
    const interval = this.options.lagIntervalMs ?? 15_000;
    if (interval <= 0 || !this.bus.consumerLag || this.stopping) return;
    this.stopObservingLag = berthMetrics().observeConsumerLag(() => this.lastLag);
    void this.sampleLag();
    this.lagTimer = setInterval(() => void this.sampleLag(), interval);
    this.lagTimer.unref();
  }

  private assertRunning(): void {
    if (this.abort.signal.aborted) throw new ConsumerStoppedError(this.groupId);
  }

  /**
   * Handles one message in a CONSUMER span that continues the producer's trace (the message's `traceparent`),
   * so the handler's own calls (Postgres, HTTP) belong to the trace of the request that raised the event.
   */
  private process(message: ReceivedMessage): Promise<void> {
    return withConsumerSpan(
      { topic: message.topic, headers: message.headers, eventId: message.headers[EventHeaders.Id] },
      { group: this.groupId, system: this.busSystem },
      () => this.processInSpan(message),
    );
  }

  private consumed(message: ReceivedMessage, outcome: 'success' | 'failure' | 'duplicate', occurredAt?: string): void {
    berthMetrics().eventConsumed({ group: this.groupId, topic: message.topic, outcome, occurredAt });
  }

  private async processInSpan(message: ReceivedMessage): Promise<void> {
    this.assertRunning();
    let event: EventEnvelope<T>;
    try {
      event = decodeEventEnvelope(message, this.options.parseData);
    } catch (error) {
      this.options.logger?.warn(
        {
          err: error,
          groupId: this.groupId,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
        },
        `idempotent consumer: not a valid event (${describeError(error)}); dead-lettering it`,
      );
      await this.deadLetter(message, error, 0);
      this.consumed(message, 'failure');
      return;
    }
    let failures = 0;
    for (let tries = 1; ; tries++) {
      this.assertRunning();
      const attempt = failures + 1;
      const outcome =
        this.mode === 'transaction'
          ? await this.attemptInTransaction(event, message, attempt)
          : await this.attemptAfterSuccess(event, message, attempt);
      const fields = { groupId: this.groupId, eventId: event.id, topic: message.topic, attempt };
      switch (outcome.kind) {
        case 'handled':
          this.counters.handled++;
          this.consumed(message, 'success', event.occurredAt);
          return;
        case 'duplicate':
          this.counters.duplicates++;
          this.consumed(message, 'duplicate');
          this.options.logger?.debug(fields, 'idempotent consumer: event already handled by this group; skipped');
          return;
        case 'poison':
          this.counters.failedAttempts++;
          await this.deadLetter(message, outcome.error, attempt, event);
          this.consumed(message, 'failure');
          return;
        case 'failed':
          this.counters.failedAttempts++;
          failures++;
          if (failures >= this.maxAttempts) {
            await this.deadLetter(message, outcome.error, failures, event);
            this.consumed(message, 'failure');
            return;
          }
          this.options.logger?.warn(
            { ...fields, err: outcome.error, maxAttempts: this.maxAttempts },
            `idempotent consumer: handler failed (${describeError(outcome.error)}); retrying after a backoff`,
          );
          break;
        case 'transient':
          this.counters.failedAttempts++;
          this.options.logger?.warn(
            { ...fields, err: outcome.error },
            `idempotent consumer: infrastructure unavailable (${describeError(outcome.error)}); retrying without counting an attempt`,
          );
          break;
      }
      await sleep(jitteredBackoffMs(tries, this.backoff), this.abort.signal);
    }
  }

  private classify(error: unknown): AttemptOutcome {
    if (error instanceof PoisonEventError) return { kind: 'poison', error };
    if (this.isTransient(error)) return { kind: 'transient', error };
    return { kind: 'failed', error };
  }

  private context(em: EntityManager, message: ReceivedMessage, attempt: number): IdempotentEventContext {
    return { em, message, attempt, signal: this.abort.signal };
  }

  /** Record, handler and check in one transaction; anything failing outside the handler is infrastructure. */
  private async attemptInTransaction(
    event: EventEnvelope<T>,
    message: ReceivedMessage,
    attempt: number,
  ): Promise<AttemptOutcome> {
    const handler: { failure?: { error: unknown } } = {};
    try {
      const kind = await this.options.dataSource.transaction(async (em) => {
        if (!(await claimProcessedEvent(em, this.groupId, event.id))) return 'duplicate' as const;
        try {
          await this.options.handler(event, this.context(em, message, attempt));
        } catch (error) {
          handler.failure = { error };
          throw error;
        }
        try {
          // A handler that caught a database error leaves the transaction aborted, and COMMIT would then silently
          // roll back the record and the effect while we acknowledge the message: check before committing.
          await em.query('SELECT 1');
        } catch (error) {
          handler.failure = {
            error: new Error('the handler resolved, but a statement of its transaction had failed', { cause: error }),
          };
          throw error;
        }
        return 'handled' as const;
      });
      return { kind };
    } catch (error) {
      if (handler.failure) return this.classify(handler.failure.error);
      return { kind: 'transient', error };
    }
  }

  /** Check, handler, then record (retried on its own, so a recorded failure never runs the handler twice). */
  private async attemptAfterSuccess(
    event: EventEnvelope<T>,
    message: ReceivedMessage,
    attempt: number,
  ): Promise<AttemptOutcome> {
    const em = this.options.dataSource.manager;
    try {
      if (await isEventProcessed(em, this.groupId, event.id)) return { kind: 'duplicate' };
    } catch (error) {
      return { kind: 'transient', error };
    }
    try {
      await this.options.handler(event, this.context(em, message, attempt));
    } catch (error) {
      return this.classify(error);
    }
    for (let tries = 1; ; tries++) {
      try {
        await claimProcessedEvent(em, this.groupId, event.id);
        return { kind: 'handled' };
      } catch (error) {
        this.options.logger?.warn(
          { err: error, groupId: this.groupId, eventId: event.id },
          `idempotent consumer: could not record a handled event (${describeError(error)}); retrying`,
        );
      }
      // Stopping now leaves the message uncommitted: it is redelivered and handled again (at least once).
      this.assertRunning();
      await sleep(jitteredBackoffMs(tries, this.backoff), this.abort.signal);
      this.assertRunning();
    }
  }

  /** Publishes the dead-letter copy, retrying until the bus takes it (or the consumer stops). */
  private async deadLetter(
    message: ReceivedMessage,
    error: unknown,
    attempts: number,
    event?: EventEnvelope<T>,
  ): Promise<void> {
    const copy = buildDeadLetterMessage(message, { error, attempts, groupId: this.groupId });
    const fields = {
      groupId: this.groupId,
      eventId: event?.id,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      deadLetterTopic: this.options.deadLetterTopic,
      attempts,
    };
    for (let tries = 1; ; tries++) {
      try {
        await this.bus.publish(this.options.deadLetterTopic, [copy]);
        this.counters.deadLettered++;
        this.options.logger?.error(
          { ...fields, err: error },
          `idempotent consumer: gave up on an event (${describeError(error)}); parked it on the dead-letter topic`,
        );
        return;
      } catch (publishError) {
        this.options.logger?.error(
          { ...fields, err: publishError },
          `idempotent consumer: could not dead-letter an event (${describeError(publishError)}); retrying`,
        );
      }
      this.assertRunning();
      await sleep(jitteredBackoffMs(tries, this.backoff), this.abort.signal);
      this.assertRunning();
    }
  }
}

/**
 * Starts an IdempotentConsumer on `bus` (see it for the guarantees) and resolves once it is subscribed. Stop it with
 * `stop()` before closing the bus and the DataSource.
 */
export async function consume<T = unknown>(
  bus: EventBus,
  options: IdempotentConsumerOptions<T>,
): Promise<IdempotentConsumer<T>> {
  const consumer = new IdempotentConsumer<T>(bus, options);
  await consumer.start();
  return consumer;
}
