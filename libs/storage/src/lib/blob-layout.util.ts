import { StorageArgumentError } from './blob-store.errors';
import { parseDigest, type ParsedDigest } from './digest.util';

/*
 * Storage layout, identical for every adapter (S3 object keys, or paths under the filesystem root). One store
 * serves one region (one bucket, or one folder); everything of a registry lives under its own prefix, so
 * deleting a registry is deleting a prefix.
 *
 *   registries/<registryId>/
 *   ├── blobs/
 *   │   ├── sha256/<hex[0:2]>/<hex>          content-addressed blob (visible only after its digest matched)
 *   │   └── sha512/<hex[0:2]>/<hex>
 *   └── uploads/<uploadId>/                   one resumable upload; removed on commit or abort
 *       ├── S3:  state.json                   { startedAt, size, segments[{ seq, size }], nextSeq }
 *       │        segments/<seq, 10 digits>    the uploaded bytes, in order; all but the last >= 5 MiB
 *       └── fs:  data                         the uploaded bytes, appended in place (the folder's time: the start)
 *   └── uploads/<uploadId>                    fs: putBlob's private file, renamed onto the blob path when verified
 */

export const REGISTRIES_PREFIX = 'registries/';

// Registry ids become one path segment: letters, digits, '.', '_', '-', starting with a letter or digit
// (so never '.' or '..'), at most 128 characters.
const REGISTRY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Upload ids are minted by the stores (UUIDs) but arrive back from clients' URLs, so they are checked too.
const UPLOAD_ID = /^[A-Za-z0-9_-]{8,128}$/;

/** Throws StorageArgumentError unless `registryId` is a safe single path segment. */
export function assertRegistryId(registryId: string): void {
  if (typeof registryId !== 'string' || !REGISTRY_ID.test(registryId)) {
    throw new StorageArgumentError(
      'invalid registry id: use 1-128 of [A-Za-z0-9._-], starting with a letter or digit',
      {
        registryId: String(registryId).slice(0, 200),
      },
    );
  }
}

/** True when `uploadId` has the shape of an id a store could have minted (anything else cannot exist). */
export function isWellFormedUploadId(uploadId: string): boolean {
  return typeof uploadId === 'string' && UPLOAD_ID.test(uploadId);
}

/** `registries/<registryId>/` */
export function registryPrefix(registryId: string): string {
  return `${REGISTRIES_PREFIX}${registryId}/`;
}

/** `registries/<registryId>/blobs/<algorithm>/<hex[0:2]>/<hex>` */
export function blobPath(registryId: string, digest: ParsedDigest): string {
  return `${registryPrefix(registryId)}blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

/** `registries/<registryId>/uploads/` */
export function uploadsPrefix(registryId: string): string {
  return `${registryPrefix(registryId)}uploads/`;
}

/** `registries/<registryId>/uploads/<uploadId>/` */
export function uploadPrefix(registryId: string, uploadId: string): string {
  return `${uploadsPrefix(registryId)}${uploadId}/`;
}

/** Validates a blob key and returns its parsed digest and storage path. */
export function resolveBlobKey(key: { registryId: string; digest: string }): { digest: ParsedDigest; path: string } {
  assertRegistryId(key.registryId);
  const digest = parseDigest(key.digest);
  return { digest, path: blobPath(key.registryId, digest) };
}
