import type { Readable } from 'node:stream';

/**
 * Where a blob lives: content-addressed per registry. `digest` is `sha256:<64 hex>` or `sha512:<128 hex>`
 * (lowercase); anything else is rejected with InvalidDigestError. `registryId` is one path segment
 * (`[A-Za-z0-9][A-Za-z0-9._-]{0,127}`); anything else is rejected with StorageArgumentError.
 *
 * The store never answers "is this blob linked to that repository": that is the caller's job (Postgres).
 */
export interface BlobKey {
  readonly registryId: string;
  readonly digest: string;
}

/** A stored blob. `digest` is the key's digest; `size` is in bytes. */
export interface BlobInfo {
  readonly digest: string;
  readonly size: number;
}

/** An inclusive byte range: `start` and optional `end` (default: the last byte), as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

export interface PresignOptions {
  /** Lifetime of the URL, 1 to 604 800 seconds (7 days, the SigV4 maximum). */
  readonly expiresInSeconds: number;
}

/** What beginUpload hands back. */
export interface UploadHandle {
  /** Opaque, URL-safe, unguessable (a random UUID). Valid in every process that shares the storage. */
  readonly uploadId: string;
}

export interface UploadStatus {
  /** Bytes durably stored so far: the offset the next append must name. */
  readonly size: number;
  /** When beginUpload ran (the store's clock). */
  readonly startedAt: Date;
}

/** An upload found by listUploads. */
export interface UploadRef {
  readonly registryId: string;
  readonly uploadId: string;
}

/** Reading blobs. Every member validates the key first (InvalidDigestError, StorageArgumentError). */
export interface BlobReader {
  /**
   * The blob's size and digest, or `undefined` when it is absent. Never rejects for "not found"; rejects
   * StorageUnavailableError when the backend cannot answer.
   */
  stat(key: BlobKey): Promise<BlobInfo | undefined>;

  /**
   * Streams the blob, or the inclusive `range` of it. `range.end` past the last byte is clamped to it.
   * Rejects BlobNotFoundError when the blob is absent and RangeNotSatisfiableError when `range.start >= size`,
   * `range.end < range.start`, or either is not a non-negative integer (an empty blob satisfies no range).
   * The stream emits an error if the backend fails mid-way; the caller must consume or destroy it.
   */
  open(key: BlobKey, range?: ByteRange): Promise<Readable>;

  /**
   * A time-limited URL a client outside the cluster can GET the blob from directly (S3: a SigV4 presigned URL
   * against the configured public endpoint), or `undefined` when this store cannot hand out URLs (filesystem):
   * the caller must then stream with `open`. Does not check that the blob exists (the URL answers 404 then);
   * callers `stat` first. The URL is a bearer credential: never log it.
   */
  presignGet(key: BlobKey, options: PresignOptions): Promise<string | undefined>;
}

/**
 * Resumable, verified uploads. A blob becomes visible at its key only after all of its bytes are stored and
 * hash to the digest named at commit. Upload state lives in the storage itself, so an upload survives a
 * restart and any process sharing the storage can continue it. Callers serialise the operations on ONE
 * upload (one append or commit at a time); different uploads are fully independent.
 */
export interface BlobUploader {
  /** Starts an empty upload for the registry. The id is opaque and URL-safe. */
  beginUpload(registryId: string): Promise<UploadHandle>;

  /**
   * Appends all of `body` to the upload and resolves the new total size once the bytes are durably stored.
   * `expectedOffset` must equal the upload's current size, otherwise nothing is read or written and it rejects
   * UploadOffsetMismatchError. Rejects UploadNotFoundError for an unknown (or malformed) id. Memory stays
   * bounded whatever the body's size (it is consumed with backpressure). Atomic: if it rejects (the body
   * stream failed, the backend failed) the upload is unchanged and the same offset can be retried.
   */
  appendUpload(registryId: string, uploadId: string, body: Readable, expectedOffset: number): Promise<number>;

  /** The upload's stored size and start time. Rejects UploadNotFoundError for an unknown id. */
  uploadStatus(registryId: string, uploadId: string): Promise<UploadStatus>;

  /**
   * Verifies that ALL of the upload's bytes hash to `digest`, then makes the blob visible at
   * `{ registryId, digest }` and removes the upload. Uses the running SHA-256 kept in memory by the appends
   * when this process saw every byte (fast path); otherwise (restart, another process appended, sha512)
   * re-reads the stored bytes (slow path). Rejects DigestMismatchError when they differ: then nothing becomes
   * visible and the upload is left exactly as it was (it can still be appended to, committed with another
   * digest, or aborted). Idempotent per digest: committing content that is already stored succeeds.
   * Concurrent commits of the same content from different uploads all succeed and leave one intact blob.
   * Rejects UploadNotFoundError for an unknown id, InvalidDigestError for a malformed digest.
   */
  commitUpload(registryId: string, uploadId: string, digest: string): Promise<BlobInfo>;

  /** Removes the upload and all of its stored bytes. Idempotent: unknown ids resolve. */
  abortUpload(registryId: string, uploadId: string): Promise<void>;

  /**
   * Every upload (of every registry in this store) that began before `olderThan`, for expiry: the caller aborts
   * them. Also lists half-removed leftovers of crashed uploads so that they get cleaned up. Order unspecified.
   */
  listUploads(olderThan: Date): Promise<UploadRef[]>;

  /**
   * Stores `body` as the blob `digest` in one call (monolithic upload, replication). Same guarantees as
   * begin/append/commit: the blob is visible only if the bytes match (else DigestMismatchError and nothing is
   * left behind), memory stays bounded, and storing content that already exists succeeds.
   */
  putBlob(registryId: string, body: Readable, digest: string): Promise<BlobInfo>;
}

/** Removing blobs. */
export interface BlobDeleter {
  /** Removes the blob. Idempotent: deleting an absent blob resolves. Open streams may still finish. */
  delete(key: BlobKey): Promise<void>;

  /** Removes every blob and upload of the registry in this store. Idempotent. */
  deleteRegistry(registryId: string): Promise<void>;
}

/** Health and shutdown, shared by every adapter. */
export interface StorageLifecycle {
  /**
   * Resolves when the backend answers (S3: the bucket exists and the credentials work; fs: the root is a
   * writable directory); rejects StorageUnavailableError naming the dependency otherwise. Always settles
   * within about 2 seconds, even when the server hangs, and recovers by itself once the server is back
   * (no need to recreate the store). Backs /readyz.
   */
  ping(): Promise<void>;

  /**
   * Releases connections and in-memory state. Idempotent. Afterwards every operation rejects
   * StorageUnavailableError. Used in graceful shutdown.
   */
  close(): Promise<void>;
}

/** Blob storage of one region. Consumers should inject the narrowest role they need. */
export interface BlobStore extends BlobReader, BlobUploader, BlobDeleter, StorageLifecycle {}
