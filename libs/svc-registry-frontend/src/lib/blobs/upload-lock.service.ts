import { Inject, Injectable } from '@nestjs/common';
import { CACHE_STORE, type KeyValueStore } from '@berth/cache';
import { randomUUID } from 'node:crypto';

/** A held lease is renewed this often while its holder works (a long PATCH streams for minutes). */
const LEASE_SECONDS = 60;
const RENEW_MS = 20_000;

/**
 * Serialises the operations on ONE upload across every frontend process (the BlobStore contract: callers
 * serialise appends and commits of an upload, so that stored bytes never interleave). A lease in the shared
 * cache store (Redis when distributed, memory in the embedded default): a crashed holder blocks the upload for
 * at most LEASE_SECONDS. Non-blocking: a second request on a busy upload is refused, not queued, because a
 * client that sends two chunks of one upload at once has lost track of its offset anyway.
 */
@Injectable()
export class UploadLocks {
  constructor(@Inject(CACHE_STORE) private readonly cache: KeyValueStore) {}

  /** Runs `work` holding the upload's lease; resolves `{ busy: true }` without running it when another holds it. */
  async withLock<T>(uploadId: string, work: () => Promise<T>): Promise<{ busy: true } | { busy: false; value: T }> {
    const key = `upload-lock:${uploadId}`;
    const token = randomUUID();
    if (!(await this.cache.setIfAbsent(key, token, LEASE_SECONDS))) return { busy: true };
    const renew = setInterval(() => {
      void this.renew(key, token);
    }, RENEW_MS);
    renew.unref();
    try {
      return { busy: false, value: await work() };
    } finally {
      clearInterval(renew);
      await this.cache.deleteIfEquals(key, token).catch(() => undefined);
    }
  }

  private async renew(key: string, token: string): Promise<void> {
    try {
      if ((await this.cache.get(key)) === token) await this.cache.set(key, token, LEASE_SECONDS);
    } catch {
      // The next renewal (or the lease's expiry) settles it; the work itself reports cache outages.
    }
  }
}
