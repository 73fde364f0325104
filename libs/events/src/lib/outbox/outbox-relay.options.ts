import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import type { EventBusLogger } from '../event-bus.port';
import { resolveRetryBackoff } from '../consumer/jittered-backoff.util';
import type { RetryBackoff } from '../consumer/jittered-backoff.util';
import { OUTBOX_CHANNEL, OUTBOX_LEADER_LOCK_KEY } from './outbox.constants';

/** Settings of an OutboxRelay; every field has a production default. */
export interface OutboxRelayOptions {
  /** Most rows claimed (and published) per round. Default 200. */
  batchSize?: number;
  /**
   * Fallback poll: a round runs at least this often even without a notification (a writer that did not call
   * `notifyOutbox`, a listener connection that is down), and a relay that found another one working retries after
   * this long. Default 1000 ms.
   */
  pollIntervalMs?: number;
  /**
   * Upper bound of one publish call. The batch's transaction stays open while it publishes, so this must stay well
   * below the database's `idle_in_transaction_session_timeout` (60 s in Berth). A publish that times out counts as
   * failed (its outcome is unknown: the rows are published again later, possibly as duplicates). Default 20000 ms.
   */
  publishTimeoutMs?: number;
  /** Most bytes of message values per publish call (Kafka refuses record batches above ~1 MiB). Default 512 KiB. */
  maxBytesPerPublish?: number;
  /**
   * Waits after consecutive failures: per topic after failed publishes (the topic is left out of claims meanwhile),
   * and for the whole relay after database failures. Default 250 ms doubling up to 30 s, with jitter.
   */
  backoff?: Partial<RetryBackoff>;
  /** Published rows are deleted once older than this. Default 24 h (kept a day for inspection and replays). */
  retentionMs?: number;
  /** How often published rows past the retention are deleted. 0 disables deleting. Default 60000 ms. */
  purgeIntervalMs?: number;
  /** Rows deleted per statement (small batches keep locks and WAL bursts short). Default 500. */
  purgeBatchSize?: number;
  /** LISTEN for `notifyOutbox` signals (true) or only poll (false). Default true. */
  listen?: boolean;
  /** How often the LISTEN connection is checked. Default 30000 ms. */
  listenerCheckIntervalMs?: number;
  /** The NOTIFY channel. Default `berth_outbox` (OUTBOX_CHANNEL). */
  channel?: string;
  /**
   * Advisory lock key (a signed 64-bit integer, decimal) electing the one relay that works at a time. Relays that
   * share a database must share it. Default OUTBOX_LEADER_LOCK_KEY.
   */
  leaderLockKey?: string;
  /** Where failures and progress are reported. Default: nowhere. */
  logger?: EventBusLogger;
}

/** OutboxRelayOptions with every default applied (each field as documented there). */
export interface ResolvedOutboxRelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  publishTimeoutMs: number;
  maxBytesPerPublish: number;
  backoff: RetryBackoff;
  retentionMs: number;
  purgeIntervalMs: number;
  purgeBatchSize: number;
  listen: boolean;
  listenerCheckIntervalMs: number;
  channel: string;
  leaderLockKey: string;
  logger: EventBusLogger | undefined;
}

/** The defaults of OutboxRelayOptions. */
export const OUTBOX_RELAY_DEFAULTS = {
  batchSize: 200,
  pollIntervalMs: 1_000,
  publishTimeoutMs: 20_000,
  maxBytesPerPublish: 512 * 1024,
  backoff: { initialMs: 250, maxMs: 30_000 },
  retentionMs: 24 * 60 * 60 * 1000,
  purgeIntervalMs: 60_000,
  purgeBatchSize: 500,
  listen: true,
  listenerCheckIntervalMs: 30_000,
} as const;

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const INT64 = /^-?\d{1,19}$/;

/** Applies the defaults and validates; throws InvalidEventBusArgumentError naming the bad setting. */
export function resolveOutboxRelayOptions(options: OutboxRelayOptions = {}): ResolvedOutboxRelayOptions {
  const d = OUTBOX_RELAY_DEFAULTS;
  const resolved: ResolvedOutboxRelayOptions = {
    batchSize: int('batchSize', options.batchSize ?? d.batchSize, 1, 10_000),
    pollIntervalMs: int('pollIntervalMs', options.pollIntervalMs ?? d.pollIntervalMs, 1),
    publishTimeoutMs: int('publishTimeoutMs', options.publishTimeoutMs ?? d.publishTimeoutMs, 1),
    maxBytesPerPublish: int('maxBytesPerPublish', options.maxBytesPerPublish ?? d.maxBytesPerPublish, 1024),
    backoff: resolveRetryBackoff(options.backoff, d.backoff),
    retentionMs: int('retentionMs', options.retentionMs ?? d.retentionMs, 0),
    purgeIntervalMs: int('purgeIntervalMs', options.purgeIntervalMs ?? d.purgeIntervalMs, 0),
    purgeBatchSize: int('purgeBatchSize', options.purgeBatchSize ?? d.purgeBatchSize, 1, 100_000),
    listen: options.listen ?? d.listen,
    listenerCheckIntervalMs: int(
      'listenerCheckIntervalMs',
      options.listenerCheckIntervalMs ?? d.listenerCheckIntervalMs,
      1,
    ),
    channel: options.channel ?? OUTBOX_CHANNEL,
    leaderLockKey: options.leaderLockKey ?? OUTBOX_LEADER_LOCK_KEY,
    logger: options.logger,
  };
  if (!CHANNEL.test(resolved.channel)) {
    throw new InvalidEventBusArgumentError(
      `channel must be a lower-case SQL identifier, got ${JSON.stringify(resolved.channel)}`,
    );
  }
  if (
    !INT64.test(resolved.leaderLockKey) ||
    BigInt(resolved.leaderLockKey) > 2n ** 63n - 1n ||
    BigInt(resolved.leaderLockKey) < -(2n ** 63n)
  ) {
    throw new InvalidEventBusArgumentError(
      `leaderLockKey must be a signed 64-bit integer, got ${resolved.leaderLockKey}`,
    );
  }
  return resolved;
}

function int(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidEventBusArgumentError(
      `${name} must be an integer between ${min} and ${max}, got ${String(value)}`,
    );
  }
  return value;
}
