import { berthMetrics, withProducerSpans, type BusSystem, type OutboxSample } from '@berth/telemetry';
import type { DataSource } from 'typeorm';
import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.adapter';
import { EventBusUnavailableError } from '../errors/event-bus-unavailable.error';
import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { UnknownTopicError } from '../errors/unknown-topic.error';
import type { EventBus } from '../event-bus.port';
import { EventHeaders } from '../event-envelope.codec';
import { describeError, sleep, withTimeout } from '../util/backoff.util';
import { jitteredBackoffMs } from '../consumer/jittered-backoff.util';
import { holdBackOvertakers, planChunks } from './outbox-batch.util';
import type { OutboxRow, PublishChunk } from './outbox-batch.util';
import { OutboxListener } from './outbox-listener';
import { resolveOutboxRelayOptions } from './outbox-relay.options';
import type { OutboxRelayOptions, ResolvedOutboxRelayOptions } from './outbox-relay.options';
import { deletePublishedBatch, OutboxStore, readOutboxLag } from './outbox-store';
import type { OutboxLag } from './outbox-store';
import { Wakeup } from './wakeup.util';

/** What one relay round did. */
export interface OutboxRoundResult {
  /** False when another relay held the leader lock: this round claimed nothing. */
  leader: boolean;
  /** Rows claimed. */
  claimed: number;
  /** Rows published and marked published. */
  published: number;
  /** Rows held back by the ordering guard (an earlier row of their key was locked elsewhere). */
  heldBack: number;
  /** Topics whose publish failed this round; their rows stay unpublished and the topic backs off. */
  failedTopics: string[];
}

/** A topic whose publishes are failing, left out of claims until `retryAt`. */
export interface OutboxTopicBackoff {
  /** The topic whose publishes fail. */
  topic: string;
  /** Consecutive failed publishes. */
  failures: number;
  /** When its rows are claimed again. */
  retryAt: Date;
}

/** A snapshot of the relay's state, for health and metrics. */
export interface OutboxRelayStatus {
  /** Between `start()` and `stop()`. */
  running: boolean;
  /** LISTEN is in place (otherwise the relay polls every `pollIntervalMs`). */
  listening: boolean;
  /** Topics backing off after failed publishes. */
  backingOff: OutboxTopicBackoff[];
  /** Rows this relay published since it was created. */
  publishedTotal: number;
  /** The last round's failure (database unreachable...), cleared by the next successful round. */
  lastError: string | undefined;
}

type Phase = 'new' | 'running' | 'stopped';

const LAG_SAMPLE_INTERVAL_MS = 1_000;

/**
 * Publishes the transactional outbox (`outbox_events`) to the event bus: at least once, in `seq` order per topic and
 * key, safe with any number of relays on one database.
 *
 * One round, in one READ COMMITTED transaction:
 * 1. `pg_try_advisory_xact_lock(leaderLockKey)`; if another relay holds it, the round ends at once (that relay is
 *    working; this one retries after `pollIntervalMs`).
 * 2. Claim up to `batchSize` unpublished rows in `seq` order, `FOR UPDATE SKIP LOCKED`, leaving out topics that are
 *    backing off.
 * 3. Ordering guard: hold back any claimed row that has an earlier unpublished row of the same topic and key outside
 *    the batch (a row SKIP LOCKED passed over).
 * 4. Publish, grouped per topic, `seq` order kept within a topic, topics in parallel, each topic in calls of at most
 *    `maxBytesPerPublish`, each call bounded by `publishTimeoutMs`. A failed call ends its topic for this round:
 *    its rows and every later row of that topic stay unpublished (never skipped), and the topic backs off.
 * 5. Mark the rows of successful calls published, and commit. The leader lock and the row locks end with the
 *    transaction.
 *
 * Why a single active relay (elected per batch by a transaction-scoped advisory lock) rather than per-key locks:
 * one relay comfortably publishes thousands of events a second (a batch costs a few round trips), far above what a
 * registry produces, so parallel relays would buy nothing but risk. With a lock per key, SKIP LOCKED lets two relays
 * claim different rows of one key, and proving that neither overtakes the other needs a lock per distinct key in
 * every batch (pressure on Postgres' shared lock table) plus the guard anyway. Taking the lock inside the batch's
 * own transaction, instead of holding a session lock for leadership, means leadership can never outlive the batch:
 * if a relay's connection dies, its transaction, its row locks and its leadership vanish together, and the next
 * relay starts from the first row still unpublished. Relays on standby need no election protocol: they simply try
 * again at their next poll, so fail-over takes at most `pollIntervalMs`.
 * The ordering guard (step 3) is defence in depth: under the leader lock nothing else holds outbox row locks, but
 * should any session (an operator's query, a relay of another version during an upgrade) lock an unpublished row,
 * SKIP LOCKED would pass over it and a later row of its key could otherwise overtake it.
 *
 * Order is per topic and key, the unit the bus (Kafka) orders; Berth keys registry events by registry id. `seq`
 * follows insertion, so two transactions that insert events of one key concurrently publish in the order their rows
 * became visible; writers that need a strict order between two events of a registry already serialise on a row of
 * that registry (the tag or manifest they change).
 *
 * Duplicates (consumers are idempotent on the event id) arise only when the outcome of a publish is unknown: a
 * relay that dies, or loses its database connection, between publishing and committing; a publish that timed out
 * or failed part-way. The rows stay unpublished and go out again, after the copies already sent; a deduplicating
 * consumer therefore still sees every key in order.
 *
 * Wake-ups: a LISTEN on `berth_outbox` (writers call `notifyOutbox` in their transaction), a poll every
 * `pollIntervalMs`, and at once after a full batch. While the bus is down each failing topic backs off
 * exponentially with jitter (250 ms to 30 s by default); while Postgres is down the whole relay does.
 * `stop()` finishes the batch in flight (publish and commit) before it resolves. Published rows older than
 * `retentionMs` are deleted in batches of `purgeBatchSize` every `purgeIntervalMs`, by every relay (SKIP LOCKED
 * keeps them off each other's rows).
 */
export class OutboxRelay {
  private readonly options: ResolvedOutboxRelayOptions;
  private readonly store: OutboxStore;
  private readonly wakeup = new Wakeup();
  private readonly abort = new AbortController();
  private readonly backoffs = new Map<string, { failures: number; retryAt: number }>();
  private readonly listener: OutboxListener | undefined;
  private phase: Phase = 'new';
  private loop: Promise<void> | undefined;
  private purgeLoop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Rounds run one at a time per relay, whether from the loop or from `runOnce()`. */
  private rounds: Promise<unknown> = Promise.resolve();
  private purging: Promise<number> | undefined;
  private publishedTotal = 0;
  private lastError: string | undefined;
  /** The outbox as last measured, for the `berth.outbox.*` gauges (read on every scrape, so never queried there). */
  private lastLag: OutboxSample | undefined;
  private lagLoop: Promise<void> | undefined;
  private stopObserving: (() => void) | undefined;
  private readonly busSystem: BusSystem;

  /**
   * @param dataSource a Postgres DataSource with Berth's schema (initialised before `start()`; rounds fail and
   *   retry until it is).
   * @param bus where the events go.
   * @param options see OutboxRelayOptions; every field has a production default.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
    options: OutboxRelayOptions = {},
  ) {
    if (dataSource.options.type !== 'postgres') {
      throw new InvalidEventBusArgumentError('outbox relay: the data source must be a postgres one');
    }
    this.options = resolveOutboxRelayOptions(options);
    this.busSystem = bus instanceof KafkaEventBus ? 'kafka' : 'in_process';
    this.store = new OutboxStore(this.options.leaderLockKey);
    if (this.options.listen) {
      this.listener = new OutboxListener(dataSource, {
        channel: this.options.channel,
        onSignal: () => this.wakeup.signal(),
        checkIntervalMs: this.options.listenerCheckIntervalMs,
        backoff: this.options.backoff,
        logger: this.options.logger,
      });
    }
  }

  /**
   * Starts relaying in the background: LISTEN, a first round at once, then rounds on every wake-up. Returns
   * immediately; failures are logged and retried, never thrown. Idempotent; throws once the relay was stopped.
   */
  start(): void {
    if (this.phase === 'running') return;
    if (this.phase === 'stopped') throw new Error('outbox relay: a stopped relay cannot be started again');
    this.phase = 'running';
    this.stopObserving = berthMetrics().observeOutbox(() => this.lastLag);
    this.listener?.start();
    this.loop = this.runLoop();
    this.lagLoop = this.runLagLoop();
    if (this.options.purgeIntervalMs > 0) this.purgeLoop = this.runPurgeLoop();
  }

  /**
   * Stops: no new round starts, the round in flight finishes (its publish and commit), the purge in flight ends
   * after its current statement, and the LISTEN connection goes back to the pool. Resolves when all of that is done
   * (at most about `publishTimeoutMs` plus a commit). Idempotent. Call it before closing the DataSource and the bus.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopped';
      this.abort.abort();
      await Promise.allSettled([this.loop, this.purgeLoop, this.lagLoop, this.rounds]);
      await this.listener?.stop();
      this.stopObserving?.();
    })();
    return this.stopping;
  }

  /**
   * Runs one round now (after the one in progress, if any) and resolves with what it did. Rejects when the database
   * fails (publish failures do not reject: see `failedTopics`). Used by the loop; handy for tools and tests (a relay
   * that was never started can drain the outbox round by round). Rejects once the relay was stopped.
   */
  runOnce(): Promise<OutboxRoundResult> {
    if (this.phase === 'stopped') {
      return Promise.reject(new Error('outbox relay: stopped'));
    }
    const round = this.rounds.then(() => this.round());
    this.rounds = round.catch(() => undefined);
    return round;
  }

  /** How far behind the outbox is: unpublished rows and the age of the oldest (for a gauge and an alert). */
  lag(): Promise<OutboxLag> {
    return readOutboxLag(this.dataSource);
  }

  /**
   * Deletes published rows older than `retentionMs`, `purgeBatchSize` at a time, until none is left (or the relay
   * stops). Resolves with how many were deleted. One purge at a time per relay: a second call joins the first.
   */
  purgePublished(): Promise<number> {
    this.purging ??= this.purge().finally(() => {
      this.purging = undefined;
    });
    return this.purging;
  }

  /** A snapshot of the relay's state. */
  status(): OutboxRelayStatus {
    return {
      running: this.phase === 'running',
      listening: this.listener?.listening ?? false,
      backingOff: [...this.backoffs].map(([topic, b]) => ({
        topic,
        failures: b.failures,
        retryAt: new Date(b.retryAt),
      })),
      publishedTotal: this.publishedTotal,
      lastError: this.lastError,
    };
  }

  private async runLoop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      let result: OutboxRoundResult;
      try {
        result = await this.runOnce();
        failures = 0;
        this.lastError = undefined;
      } catch (err) {
        failures++;
        this.lastError = describeError(err);
        this.options.logger?.warn(
          { err, failures },
          `outbox relay: round failed (${describeError(err)}); retrying after a backoff`,
        );
        await sleep(jitteredBackoffMs(failures, this.options.backoff), this.abort.signal);
        continue;
      }
      if (this.abort.signal.aborted) return;
      if (!result.leader) {
        // Another relay is working; it sees the notifications too. Check again at the next poll.
        await sleep(this.options.pollIntervalMs, this.abort.signal);
        continue;
      }
      const fullBatch = result.claimed >= this.options.batchSize && result.published > 0;
      if (fullBatch) continue;
      await this.wakeup.wait(this.idleWaitMs(), this.abort.signal);
    }
  }

  /**
   * Measures the outbox for the gauges every second (one index scan), apart from the rounds: a round may wait on
   * a bus that is down for its whole publish timeout, which is exactly when the backlog matters.
   */
  private async runLagLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await this.sampleLag();
      await sleep(LAG_SAMPLE_INTERVAL_MS, this.abort.signal);
    }
  }

  /** Never rejects. */
  private async sampleLag(): Promise<void> {
    try {
      const lag = await readOutboxLag(this.dataSource);
      this.lastLag = { pending: lag.count, lagSeconds: lag.oldestAgeMs / 1000 };
    } catch {
      // The next round reports a database outage; the gauges keep their last value meanwhile.
    }
  }

  /** The poll interval, shortened to the end of the earliest topic backoff still running. */
  private idleWaitMs(): number {
    let wait = this.options.pollIntervalMs;
    const now = Date.now();
    for (const b of this.backoffs.values()) if (b.retryAt > now) wait = Math.min(wait, b.retryAt - now);
    return wait;
  }

  /**
   * Forgets the backoff of topics that had nothing left to retry: their wait is over, and a claim that was not
   * full (it saw every claimable row) found none of their rows (deleted by an operator, say).
   */
  private forgetIdleBackoffs(rows: readonly OutboxRow[], now: number): void {
    if (rows.length >= this.options.batchSize) return;
    const claimedTopics = new Set(rows.map((r) => r.topic));
    for (const [topic, b] of this.backoffs) {
      if (b.retryAt <= now && !claimedTopics.has(topic)) this.backoffs.delete(topic);
    }
  }

  private async runPurgeLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await sleep(this.options.purgeIntervalMs, this.abort.signal);
      if (this.abort.signal.aborted) return;
      try {
        const deleted = await this.purgePublished();
        if (deleted > 0) this.options.logger?.debug({ deleted }, 'outbox relay: deleted published rows past retention');
      } catch (err) {
        this.options.logger?.warn({ err }, `outbox relay: purge failed (${describeError(err)}); retrying later`);
      }
    }
  }

  private async purge(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await deletePublishedBatch(
        this.dataSource,
        this.options.retentionMs,
        this.options.purgeBatchSize,
      );
      total += deleted;
      if (deleted < this.options.purgeBatchSize || this.abort.signal.aborted) return total;
    }
  }

  private backingOffTopics(now: number): string[] {
    const topics: string[] = [];
    for (const [topic, b] of this.backoffs) if (b.retryAt > now) topics.push(topic);
    return topics;
  }

  private async round(): Promise<OutboxRoundResult> {
    const result: OutboxRoundResult = { leader: false, claimed: 0, published: 0, heldBack: 0, failedTopics: [] };
    const runner = this.dataSource.createQueryRunner();
    let sent: string[] = [];
    try {
      await runner.connect();
      await runner.startTransaction('READ COMMITTED');
      if (!(await this.store.tryLeaderLock(runner))) {
        await runner.rollbackTransaction();
        return result;
      }
      result.leader = true;
      const claimedAt = Date.now();
      const rows = await this.store.claim(runner, this.options.batchSize, this.backingOffTopics(claimedAt));
      result.claimed = rows.length;
      this.forgetIdleBackoffs(rows, claimedAt);
      if (rows.length > 0) {
        const { ready, heldBack } = holdBackOvertakers(rows, await this.store.earliestOutside(runner, rows));
        result.heldBack = heldBack.length;
        if (heldBack.length > 0) {
          this.options.logger?.warn(
            { heldBack: heldBack.length },
            'outbox relay: rows held back behind earlier rows of their key that another session has locked',
          );
        }
        const outcome = await this.publish(ready);
        sent = outcome.publishedIds;
        result.failedTopics = outcome.failedTopics;
        await this.store.markPublished(runner, sent);
      }
      await runner.commitTransaction();
      result.published = sent.length;
      this.publishedTotal += sent.length;
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (sent.length > 0) {
        this.options.logger?.warn(
          { err, published: sent.length },
          'outbox relay: events were published but could not be marked; they will be published again (duplicates)',
        );
      }
      throw err;
    } finally {
      await runner.release().catch(() => undefined);
    }
  }

  /** Publishes rows (in `seq` order) per topic; never rejects. */
  private async publish(rows: readonly OutboxRow[]): Promise<{ publishedIds: string[]; failedTopics: string[] }> {
    const topics = await Promise.all(
      planChunks(rows, this.options.maxBytesPerPublish).map((c) => this.publishTopic(c)),
    );
    return {
      publishedIds: topics.flatMap((t) => t.ids),
      failedTopics: topics.filter((t) => t.failed).map((t) => t.topic),
    };
  }

  /** Publishes the chunks of one topic in order, stopping at the first failure. */
  private async publishTopic(chunks: PublishChunk[]): Promise<{ topic: string; ids: string[]; failed: boolean }> {
    const topic = chunks[0]?.topic ?? '';
    const ids: string[] = [];
    for (const [index, chunk] of chunks.entries()) {
      try {
        // One PRODUCER span per event, child of the trace that wrote it (its stored traceparent): a push is one
        // trace from the client's request to every consumer.
        await withProducerSpans(
          topic,
          chunk.messages.map((m, i) => ({
            traceparent: m.headers?.[EventHeaders.Traceparent],
            headers: m.headers,
            eventId: chunk.rows[i]?.id,
          })),
          { system: this.busSystem },
          (headers) =>
            withTimeout(
              this.bus.publish(
                topic,
                chunk.messages.map((m, i) => ({ ...m, headers: headers[i] ?? m.headers })),
              ),
              this.options.publishTimeoutMs,
              () =>
                new EventBusUnavailableError(
                  `outbox relay: publishing to "${topic}" did not finish within ${this.options.publishTimeoutMs} ms`,
                ),
            ),
        );
      } catch (err) {
        const pending = chunks.slice(index).reduce((n, c) => n + c.rows.length, 0);
        this.countPublished(
          topic,
          chunk.messages.map((m) => m.headers),
          'failure',
        );
        this.recordFailure(topic, err, pending);
        return { topic, ids, failed: true };
      }
      this.countPublished(
        topic,
        chunk.messages.map((m) => m.headers),
        'success',
      );
      for (const row of chunk.rows) ids.push(row.id);
    }
    if (this.backoffs.delete(topic)) {
      this.options.logger?.info({ topic }, 'outbox relay: publishing works again');
    }
    return { topic, ids, failed: false };
  }

  /** `berth.events.published`, by event type (bounded: the types Berth defines). */
  private countPublished(
    topic: string,
    headers: ReadonlyArray<Record<string, string> | undefined>,
    outcome: 'success' | 'failure',
  ): void {
    const byType = new Map<string, number>();
    for (const h of headers) {
      const type = h?.[EventHeaders.Type] ?? 'unknown';
      byType.set(type, (byType.get(type) ?? 0) + 1);
    }
    for (const [eventType, count] of byType) berthMetrics().eventPublished({ eventType, topic, outcome }, count);
  }

  private recordFailure(topic: string, err: unknown, pending: number): void {
    const failures = (this.backoffs.get(topic)?.failures ?? 0) + 1;
    const delayMs = jitteredBackoffMs(failures, this.options.backoff);
    this.backoffs.set(topic, { failures, retryAt: Date.now() + delayMs });
    const fields = { err, topic, pending, failures, retryInMs: delayMs };
    if (err instanceof UnknownTopicError) {
      this.options.logger?.error(
        fields,
        `outbox relay: topic "${topic}" does not exist; create it (ensureEventTopics)`,
      );
    } else {
      this.options.logger?.warn(
        fields,
        `outbox relay: publishing to "${topic}" failed (${describeError(err)}); the events stay in the outbox`,
      );
    }
  }
}
