import { CacheClosedError } from '../../errors/cache-closed.error';
import { InvalidCacheArgumentError } from '../../errors/invalid-cache-argument.error';
import type { CacheStore, WindowCount } from '../../cache-store.port';
import {
  msToResetSeconds,
  secondsToMs,
  validateIncrement,
  validateKey,
  validateKeys,
  validateValue,
} from '../../util/validate-cache-arguments.util';
import { MemoryCacheBackend } from './memory-cache-backend';
import type { MemoryCacheBackendOptions } from './memory-cache-backend';

export interface MemoryCacheStoreOptions extends MemoryCacheBackendOptions {
  /** Namespace prepended to every key. Default `berth:`. */
  keyPrefix?: string;
  /**
   * Where entries live. Stores sharing a backend share keys (under their prefixes), as Redis clients share
   * a server; `maxEntries`/`sweepIntervalMs` then belong to the backend and are ignored here. Default: a
   * backend of this store's own, freed by `close()`.
   */
  backend?: MemoryCacheBackend;
}

const NAME = 'memory cache';
const INTEGER = /^(0|-?[1-9]\d*)$/;

/** Runs a synchronous body as a promise, so a throw becomes a rejection. */
function settle<T>(body: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(body()));
}

/**
 * CacheStore in this process's memory, for the embedded single-process mode and tests. Atomic because
 * every operation runs synchronously on the event loop; TTLs honoured on every read and swept on a timer;
 * bounded by the backend's `maxEntries`.
 */
export class MemoryCacheStore implements CacheStore {
  private readonly backend: MemoryCacheBackend;
  private readonly ownsBackend: boolean;
  private readonly prefix: string;
  private closed = false;

  constructor(options: MemoryCacheStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? 'berth:';
    this.ownsBackend = !options.backend;
    this.backend = options.backend ?? new MemoryCacheBackend(options);
  }

  incrementWindow(key: string, by: number, windowSeconds: number): Promise<WindowCount> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      validateIncrement(by);
      return this.increment(key, by, secondsToMs(windowSeconds, 'windowSeconds'), Date.now());
    });
  }

  incrementWindows(keys: readonly string[], by: number, windowSeconds: number): Promise<WindowCount[]> {
    return settle(() => {
      this.assertOpen();
      validateKeys(keys);
      validateIncrement(by);
      const windowMs = secondsToMs(windowSeconds, 'windowSeconds');
      const now = Date.now();
      // One synchronous pass: no other operation can interleave, as with one Redis script.
      return keys.map((key) => this.increment(key, by, windowMs, now));
    });
  }

  /** One fixed-window increment (the caller validated the arguments). */
  private increment(key: string, by: number, windowMs: number, now: number): WindowCount {
    const k = this.prefix + key;
    const entry = this.backend.live(k, now);
    if (!entry) {
      this.backend.write(k, { value: String(by), expiresAt: now + windowMs });
      return { count: by, resetsInSeconds: msToResetSeconds(windowMs) };
    }
    if (!INTEGER.test(entry.value)) {
      throw new InvalidCacheArgumentError(`key "${key}" holds a value that is not an integer counter`);
    }
    const count = Number(entry.value) + by;
    entry.value = String(count);
    // As in Redis: a value stored without expiry gets the window's expiry on its first increment.
    entry.expiresAt ??= now + windowMs;
    return { count, resetsInSeconds: msToResetSeconds(entry.expiresAt - now) };
  }

  get(key: string): Promise<string | undefined> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      return this.backend.live(this.prefix + key, Date.now())?.value;
    });
  }

  set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      validateValue(value);
      const ttlMs = ttlSeconds === undefined ? undefined : secondsToMs(ttlSeconds, 'ttlSeconds');
      this.backend.write(this.prefix + key, { value, expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs });
    });
  }

  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      validateValue(value);
      const ttlMs = secondsToMs(ttlSeconds, 'ttlSeconds');
      const now = Date.now();
      const k = this.prefix + key;
      if (this.backend.live(k, now)) return false;
      this.backend.write(k, { value, expiresAt: now + ttlMs });
      return true;
    });
  }

  delete(key: string): Promise<boolean> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      const k = this.prefix + key;
      const existed = this.backend.live(k, Date.now()) !== undefined;
      this.backend.remove(k);
      return existed;
    });
  }

  deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return settle(() => {
      this.assertOpen();
      validateKey(key);
      validateValue(expected);
      const k = this.prefix + key;
      if (this.backend.live(k, Date.now())?.value !== expected) return false;
      this.backend.remove(k);
      return true;
    });
  }

  ping(): Promise<void> {
    return settle(() => this.assertOpen());
  }

  close(): Promise<void> {
    if (!this.closed && this.ownsBackend) this.backend.dispose();
    this.closed = true;
    return Promise.resolve();
  }

  private assertOpen(): void {
    if (this.closed) throw new CacheClosedError(NAME);
  }
}
