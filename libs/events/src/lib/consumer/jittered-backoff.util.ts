import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';

/** Exponential backoff between retries: the first wait, and the longest any wait may grow to. */
export interface RetryBackoff {
  /** Wait before the second try (before jitter). */
  initialMs: number;
  /** Upper bound of any wait (before jitter). At least `initialMs`. */
  maxMs: number;
}

/** Fills the unset fields of `backoff` from `defaults` and checks them (positive integers, max ≥ initial). */
export function resolveRetryBackoff(backoff: Partial<RetryBackoff> | undefined, defaults: RetryBackoff): RetryBackoff {
  const initialMs = backoff?.initialMs ?? defaults.initialMs;
  const maxMs = backoff?.maxMs ?? Math.max(defaults.maxMs, initialMs);
  for (const [name, value] of [
    ['backoff.initialMs', initialMs],
    ['backoff.maxMs', maxMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidEventBusArgumentError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (maxMs < initialMs) {
    throw new InvalidEventBusArgumentError(
      `backoff.maxMs (${maxMs}) must not be below backoff.initialMs (${initialMs})`,
    );
  }
  return { initialMs, maxMs };
}

/**
 * The wait after the `attempt`-th consecutive failure (1-based): `min(maxMs, initialMs · 2^(attempt-1))`, with
 * "equal jitter": a uniformly random value in [half of it, all of it]. The jitter spreads out processes that failed
 * together (a broker restart makes every consumer fail at once), while the lower half-bound keeps the waits growing
 * (below the cap, a wait is never shorter than the one before), so a dependency that is down is not hammered.
 */
export function jitteredBackoffMs(attempt: number, backoff: RetryBackoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(Math.floor(attempt) - 1, 0), 30);
  const base = Math.min(backoff.initialMs * 2 ** exponent, backoff.maxMs);
  const half = base / 2;
  return Math.round(half + random() * half);
}
