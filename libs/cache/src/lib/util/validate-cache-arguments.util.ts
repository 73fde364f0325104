import { InvalidCacheArgumentError } from '../errors/invalid-cache-argument.error';

/** Longest accepted key, prefix excluded (Redis allows 512 MiB; a longer key is a bug, not a need). */
const MAX_KEY_LENGTH = 1_024;

export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw new InvalidCacheArgumentError('key must be a non-empty string');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidCacheArgumentError(`key is longer than ${MAX_KEY_LENGTH}`);
}

/** Most keys one incrementWindows call takes (a request counts in a handful). */
export const MAX_KEYS_PER_CALL = 16;

export function validateKeys(keys: unknown): asserts keys is readonly string[] {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS_PER_CALL) {
    throw new InvalidCacheArgumentError(`keys must be an array of 1 to ${MAX_KEYS_PER_CALL} keys`);
  }
  for (const key of keys) validateKey(key);
}

export function validateValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new InvalidCacheArgumentError('value must be a string');
}

/** A duration in seconds (> 0, finite, at most ~68 years) as whole milliseconds, at least 1. */
export function secondsToMs(seconds: unknown, what: string): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 2 ** 31) {
    throw new InvalidCacheArgumentError(`${what} must be a positive number of seconds, got ${String(seconds)}`);
  }
  return Math.max(1, Math.ceil(seconds * 1000));
}

export function validateIncrement(by: unknown): asserts by is number {
  if (typeof by !== 'number' || !Number.isSafeInteger(by) || by < 0) {
    throw new InvalidCacheArgumentError(`increment must be an integer ≥ 0, got ${String(by)}`);
  }
}

/** Milliseconds left → whole seconds, rounded up, at least 1. */
export function msToResetSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
