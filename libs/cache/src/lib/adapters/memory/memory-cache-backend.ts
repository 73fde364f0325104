import { InvalidCacheArgumentError } from '../../errors/invalid-cache-argument.error';

export interface MemoryCacheBackendOptions {
  /**
   * Most entries kept (default 100,000). When full, expired entries are dropped first, then the oldest
   * written: memory stays bounded, at the price of an evicted counter starting again from 0.
   */
  maxEntries?: number;
  /** How often expired entries are swept. Default 10,000 ms. */
  sweepIntervalMs?: number;
}

export interface MemoryEntry {
  value: string;
  /** Epoch ms; undefined = no expiry. */
  expiresAt: number | undefined;
}

/**
 * The memory a MemoryCacheStore keeps its entries in: what a Redis server is to RedisCacheStore. Stores
 * sharing a backend (each with its own key prefix) see each other's keys, as clients of one Redis do.
 */
export class MemoryCacheBackend {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly maxEntries: number;
  private readonly sweeper: NodeJS.Timeout;
  private lastSweep = 0;

  constructor(options: MemoryCacheBackendOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new InvalidCacheArgumentError(`maxEntries must be an integer ≥ 1, got ${String(options.maxEntries)}`);
    }
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref(); // never keeps the process alive
  }

  /** Entries currently held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry if present and not expired; an expired one is dropped on the way. */
  live(key: string, now: number): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Writes as the newest entry, evicting when full (expired first, then the oldest written). */
  write(key: string, entry: MemoryEntry): void {
    this.entries.delete(key);
    // Sweeping is O(entries): when full, at most once a second, then evict the oldest.
    if (this.entries.size >= this.maxEntries && Date.now() - this.lastSweep >= 1_000) this.sweep();
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }

  remove(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every expired entry. Runs on a timer; public so tests need not wait for it. */
  sweep(): void {
    const now = Date.now();
    this.lastSweep = now;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  /** Stops the sweeper and frees the entries. */
  dispose(): void {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}
