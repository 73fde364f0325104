import type { Hash } from 'node:crypto';
import { createDigestHash, type DigestAlgorithm } from './digest.util';

/** A running hash over the first `offset` bytes of one upload, as seen by this process. */
export interface RunningHash {
  readonly algorithm: DigestAlgorithm;
  readonly hash: Hash;
  offset: number;
}

/**
 * The fast path of digest verification: the hash of every upload this process has seen from byte 0, kept in
 * memory so that commit needs no re-read. Entries are only hints: a missing or stale entry (restart, another
 * process appended, eviction) sends commit to the slow path, which re-reads the stored bytes. Bounded: the
 * least recently used entries are dropped beyond `maxEntries` (abandoned uploads would otherwise leak).
 */
export class UploadHasherCache {
  private readonly entries = new Map<string, RunningHash>();

  constructor(private readonly maxEntries = 10_000) {}

  /** Starts tracking an upload at offset 0. */
  start(uploadKey: string, algorithm: DigestAlgorithm = 'sha256'): RunningHash {
    const entry: RunningHash = { algorithm, hash: createDigestHash(algorithm), offset: 0 };
    this.entries.delete(uploadKey);
    this.entries.set(uploadKey, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return entry;
  }

  /** The running hash if it covers exactly `offset` bytes; otherwise forgets it (it can never be used again). */
  at(uploadKey: string, offset: number): RunningHash | undefined {
    const entry = this.entries.get(uploadKey);
    if (!entry) return undefined;
    if (entry.offset !== offset) {
      this.entries.delete(uploadKey);
      return undefined;
    }
    this.entries.delete(uploadKey); // re-insert: most recently used last
    this.entries.set(uploadKey, entry);
    return entry;
  }

  /**
   * The hex digest over exactly `size` bytes when the running hash covers them with `algorithm`; undefined
   * otherwise. Does not consume the running hash (a failed commit can be retried).
   */
  digestIfComplete(uploadKey: string, size: number, algorithm: DigestAlgorithm): string | undefined {
    const entry = this.entries.get(uploadKey);
    if (!entry || entry.offset !== size || entry.algorithm !== algorithm) return undefined;
    return entry.hash.copy().digest('hex');
  }

  forget(uploadKey: string): void {
    this.entries.delete(uploadKey);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
