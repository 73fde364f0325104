import { CacheError } from '@berth/cache';
import { RegistryError } from '@berth/oci';
import { isStorageError, RangeNotSatisfiableError, UploadOffsetMismatchError, type StorageError } from '@berth/storage';

/**
 * Turns a storage or cache failure into the OCI error a client gets; anything else (a bug, a database failure)
 * is returned unchanged for the filter to log and answer 500 UNKNOWN. The storage code table is mapped with an
 * exhaustive switch, so a new storage code fails the build until it is mapped here.
 */
export function toRegistryError(err: unknown): unknown {
  if (err instanceof RegistryError) return err;
  if (err instanceof CacheError) return new RegistryError('UNAVAILABLE', 'cache unavailable, retry later');
  if (!isStorageError(err)) return err;
  return fromStorage(err);
}

function fromStorage(err: StorageError): RegistryError | StorageError {
  switch (err.code) {
    case 'BLOB_NOT_FOUND':
      return new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry');
    case 'UPLOAD_NOT_FOUND':
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    case 'DIGEST_INVALID':
      return new RegistryError('DIGEST_INVALID', 'invalid digest');
    case 'DIGEST_MISMATCH':
      // distribution-spec: "If the digest does not match the content, the registry responds 400 DIGEST_INVALID".
      return new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', err.detail);
    case 'RANGE_NOT_SATISFIABLE': {
      const e = err as RangeNotSatisfiableError;
      return new RegistryError('RANGE_INVALID', 'requested range not satisfiable', { size: e.size });
    }
    case 'UPLOAD_OFFSET_MISMATCH': {
      const e = err as UploadOffsetMismatchError;
      return new RegistryError('RANGE_INVALID', 'chunk does not start at the end of the upload', {
        expectedOffset: e.expectedOffset,
        currentSize: e.currentSize,
      });
    }
    case 'UPLOAD_TOO_LARGE':
      return new RegistryError('SIZE_INVALID', err.message, err.detail);
    case 'STORAGE_UNAVAILABLE':
      return new RegistryError('UNAVAILABLE', 'blob storage unavailable, retry later');
    case 'INVALID_ARGUMENT':
      // A programming or configuration error (e.g. a region this process does not serve): a 500 with an id.
      return err;
  }
}

/** `await`s `work` and rethrows its failure mapped by {@link toRegistryError}. */
export async function mapErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw toRegistryError(err);
  }
}
