import { StorageArgumentError } from './blob-store.errors';
import type { PresignOptions } from './blob-store.port';

/** The longest lifetime SigV4 allows for a presigned URL (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

/** Throws StorageArgumentError unless `expiresInSeconds` is an integer from 1 to 604 800. */
export function assertPresignOptions(options: PresignOptions): void {
  const seconds = options?.expiresInSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new StorageArgumentError(`presign: expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`, {
      expiresInSeconds: seconds,
    });
  }
}
