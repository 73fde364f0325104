/**
 * Domain errors of the storage layer. Each carries a stable `code` so that the edges (the OCI `/v2/` filter,
 * the management API filter, Kafka consumers) map it with one exhaustive `switch`.
 * Messages never contain credentials or presigned URLs.
 */
export type StorageErrorCode =
  | 'DIGEST_INVALID'
  | 'INVALID_ARGUMENT'
  | 'BLOB_NOT_FOUND'
  | 'RANGE_NOT_SATISFIABLE'
  | 'UPLOAD_NOT_FOUND'
  | 'UPLOAD_OFFSET_MISMATCH'
  | 'UPLOAD_TOO_LARGE'
  | 'DIGEST_MISMATCH'
  | 'STORAGE_UNAVAILABLE';

/** Base class of every error this lib throws on purpose. */
export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;

  protected constructor(
    message: string,
    readonly detail?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The digest string is not `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`. */
export class InvalidDigestError extends StorageError {
  readonly code = 'DIGEST_INVALID' as const;
  constructor(digest: string, reason: string) {
    super(`invalid digest: ${reason}`, { digest: digest.slice(0, 200) });
  }
}

/** A caller passed an argument that can never be valid (malformed registry id, expiry out of bounds, ...). */
export class StorageArgumentError extends StorageError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(message: string, detail?: Record<string, unknown>) {
    super(message, detail);
  }
}

/** The blob does not exist in this registry (in this store's region). */
export class BlobNotFoundError extends StorageError {
  readonly code = 'BLOB_NOT_FOUND' as const;
  constructor(registryId: string, digest: string) {
    super('blob not found', { registryId, digest });
  }
}

/**
 * The requested byte range cannot be served: `start` is at or past the end of the blob, `end < start`, or the
 * numbers are not non-negative integers. `size` is the blob's size when known (for `Content-Range: bytes * /size`).
 */
export class RangeNotSatisfiableError extends StorageError {
  readonly code = 'RANGE_NOT_SATISFIABLE' as const;
  constructor(
    readonly start: number,
    readonly end: number | undefined,
    readonly size: number | undefined,
  ) {
    super('requested range not satisfiable', { start, end, size });
  }
}

/** No upload with this id exists for this registry (never began, committed, aborted, or expired). */
export class UploadNotFoundError extends StorageError {
  readonly code = 'UPLOAD_NOT_FOUND' as const;
  constructor(registryId: string, uploadId: string) {
    super('upload not found', { registryId, uploadId: uploadId.slice(0, 200) });
  }
}

/** An append named an offset other than the upload's current size; nothing was written. */
export class UploadOffsetMismatchError extends StorageError {
  readonly code = 'UPLOAD_OFFSET_MISMATCH' as const;
  constructor(
    readonly expectedOffset: number,
    readonly currentSize: number,
  ) {
    super(`upload offset mismatch: expected ${expectedOffset}, upload holds ${currentSize} bytes`, {
      expectedOffset,
      currentSize,
    });
  }
}

/** The upload would exceed what the backend can assemble into one blob (S3: 10 000 parts). Nothing was kept. */
export class UploadTooLargeError extends StorageError {
  readonly code = 'UPLOAD_TOO_LARGE' as const;
  constructor(readonly maxSize: number) {
    super(`upload exceeds the maximum blob size of ${maxSize} bytes`, { maxSize });
  }
}

/** The bytes do not hash to the digest the caller named. The blob was NOT made visible. */
export class DigestMismatchError extends StorageError {
  readonly code = 'DIGEST_MISMATCH' as const;
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly size: number,
  ) {
    super('content does not match digest', { expected, actual, size });
  }
}

/**
 * The storage backend cannot be reached or refused to work (connection refused or reset, timeout, 5xx, missing
 * bucket, rejected credentials, store closed). Transient from the caller's point of view: answer 503 and retry.
 */
export class StorageUnavailableError extends StorageError {
  readonly code = 'STORAGE_UNAVAILABLE' as const;
  constructor(
    readonly dependency: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} unavailable: ${message}`, { dependency }, options);
  }
}

/** True when `err` is a StorageError (with the given `code`, when one is named). */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
