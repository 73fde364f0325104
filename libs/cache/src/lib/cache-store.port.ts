/** DI token under which `BerthCacheModule` provides the configured {@link CacheStore}. */
export const CACHE_STORE = Symbol('CACHE_STORE');

/** The state of a fixed-window counter after an increment. */
export interface WindowCount {
  /** The counter's value in the current window, this increment included. */
  count: number;
  /** Whole seconds (rounded up, at least 1) until the window ends and the counter starts again from 0. */
  resetsInSeconds: number;
}

/** Counters for throttling and rate limits (ReadOps/WriteOps per minute per registry, failed logins). */
export interface CounterStore {
  /**
   * Adds `by` (an integer ≥ 0; 0 reads without counting) to the fixed-window counter `key` and returns the
   * new count. The first increment of a window creates the counter and starts the window, which ends
   * `windowSeconds` later (sub-second precision); the expiry is set exactly once per window, later increments
   * never extend it. Atomic: concurrent increments from any number of processes sharing the store each see
   * a distinct count. Rejects with InvalidCacheArgumentError when `key` holds a value that is not an integer.
   */
  incrementWindow(key: string, by: number, windowSeconds: number): Promise<WindowCount>;

  /**
   * `incrementWindow(key, by, windowSeconds)` for each of `keys` (at most 16, distinct or not: a repeated key is
   * counted once per occurrence) in ONE operation: one round trip for all the counters a request counts in. Returns
   * the counts in the order of `keys`. Each counter is atomic as with incrementWindow; the set is validated before
   * anything is counted (an invalid argument counts nothing). A counter holding a non-integer value rejects the whole
   * call with InvalidCacheArgumentError; counters before it in `keys` may have been counted.
   */
  incrementWindows(keys: readonly string[], by: number, windowSeconds: number): Promise<WindowCount[]>;
}

/** Short-lived values and locks. */
export interface KeyValueStore {
  /** The value, or undefined when absent or expired. Never rejects for a missing key. */
  get(key: string): Promise<string | undefined>;

  /**
   * Stores `value`, replacing any value and expiry. With `ttlSeconds` (> 0, sub-second precision) it expires
   * then; without, it has no expiry (the memory store may still evict it when full).
   */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;

  /**
   * Stores `value` with an expiry only if `key` is absent, atomically: of concurrent callers (in any process
   * sharing the store) exactly one gets true. The lock primitive: store a random token, release with
   * `deleteIfEquals(key, token)`; the TTL bounds how long a crashed holder blocks others.
   */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;

  /** Removes `key`. Resolves true if it existed. */
  delete(key: string): Promise<boolean>;

  /**
   * Removes `key` only if it holds `expected`, atomically (releasing a lock without removing one another
   * holder acquired after ours expired). Resolves true if it removed it.
   */
  deleteIfEquals(key: string, expected: string): Promise<boolean>;
}

/**
 * Counters, short caches and locks, behind one port with a Redis adapter (distributed) and a memory adapter
 * (embedded). Keys are namespaced with the store's configured prefix. Every operation on a server-backed
 * store rejects with CacheUnavailableError within a bounded time while the server is down; none hangs.
 */
export interface CacheStore extends CounterStore, KeyValueStore {
  /**
   * Resolves when the store answers; rejects with an Error naming the dependency otherwise. Always settles
   * within about two seconds, and succeeds again after the server restarts, without a new store.
   */
  ping(): Promise<void>;

  /** Releases connections and timers; later calls reject with CacheClosedError. Idempotent. */
  close(): Promise<void>;
}

/** Minimal structured logger (pino-compatible: fields first, then the message). */
export interface CacheLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}
