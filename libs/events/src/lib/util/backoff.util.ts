import type { RedeliveryBackoff } from '../event-bus.port';

export const DEFAULT_REDELIVERY_BACKOFF: Required<RedeliveryBackoff> = { initialMs: 200, maxMs: 5_000 };

/** Wait before delivery attempt `attempt + 1`, given `attempt` failed attempts so far (1-based). */
export function redeliveryDelayMs(attempt: number, backoff: Required<RedeliveryBackoff>): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(backoff.initialMs * 2 ** exponent, backoff.maxMs);
}

export function resolveBackoff(backoff: RedeliveryBackoff | undefined): Required<RedeliveryBackoff> {
  const initialMs = backoff?.initialMs ?? DEFAULT_REDELIVERY_BACKOFF.initialMs;
  const maxMs = Math.max(backoff?.maxMs ?? DEFAULT_REDELIVERY_BACKOFF.maxMs, initialMs);
  return { initialMs, maxMs };
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). The timer does not keep Node alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Rejects with `makeError()` if `promise` has not settled after `ms`. The timer is always cleared. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, makeError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeError()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The message of an unknown thrown value, for logs and error messages. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
