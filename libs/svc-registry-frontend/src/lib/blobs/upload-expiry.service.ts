import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ROOT_LOGGER } from '@berth/platform';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import type { Logger } from 'pino';
import { UploadLocks } from './upload-lock.service';
import { UPLOAD_TTL_MS, UploadSessions } from './upload-sessions.service';

/** How often the sweep runs in each frontend process. Sweeps of several processes may overlap: all steps are idempotent. */
export const UPLOAD_SWEEP_INTERVAL_MS = 5 * 60 * 1000;
const BATCH = 500;

export interface SweepResult {
  /** Expired sessions removed (their storage upload aborted, their row deleted). */
  sessions: number;
  /** Storage uploads older than the TTL that no live session owned (crash leftovers), aborted. */
  orphans: number;
}

/**
 * Expires abandoned uploads (distribution's upload purging): a session lives UPLOAD_TTL_MS from its start. The
 * sweep aborts the storage upload of every expired session and deletes its row (storage first: a crash in
 * between leaves a row the next sweep finishes), then aborts storage uploads older than the TTL that no live
 * session owns (an upload begun by a process that crashed before writing its row). Sessions busy with a request
 * are skipped until the next sweep.
 */
@Injectable()
export class UploadExpiry implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly sessions: UploadSessions,
    private readonly locks: UploadLocks,
    @Inject(BLOB_STORES) private readonly stores: BlobStores,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'upload-expiry' });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.logger.warn({ err }, 'upload expiry sweep failed; retrying at the next interval'));
    }, UPLOAD_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One sweep as of `now` (tests pass a future time instead of waiting a day). One at a time per process. */
  sweep(now: Date = new Date()): Promise<SweepResult> {
    this.running ??= this.doSweep(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doSweep(now: Date): Promise<SweepResult> {
    const result: SweepResult = { sessions: 0, orphans: 0 };
    for (;;) {
      const batch = await this.sessions.expired(now, BATCH);
      let removed = 0;
      for (const session of batch) {
        if (!this.stores.regions.includes(session.region)) continue; // another process serves that region
        const store = this.stores.get(session.region);
        const outcome = await this.locks.withLock(session.id, async () => {
          await store.abortUpload(session.registryId, session.storageUploadId);
          await this.sessions.delete(session.id, session.registryId);
        });
        if (!outcome.busy) removed++;
      }
      result.sessions += removed;
      if (batch.length < BATCH || removed === 0) break;
    }

    const cutoff = new Date(now.getTime() - UPLOAD_TTL_MS);
    for (const region of this.stores.regions) {
      const store = this.stores.get(region);
      const uploads = await store.listUploads(cutoff);
      for (let i = 0; i < uploads.length; i += BATCH) {
        const chunk = uploads.slice(i, i + BATCH);
        const live = await this.sessions.liveStorageUploads(region, chunk, now);
        for (const ref of chunk) {
          if (live.has(`${ref.registryId}/${ref.uploadId}`)) continue;
          await store.abortUpload(ref.registryId, ref.uploadId);
          result.orphans++;
        }
      }
    }
    if (result.sessions > 0 || result.orphans > 0) this.logger.info(result, 'expired uploads removed');
    return result;
  }
}
