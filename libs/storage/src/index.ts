export type {
  BlobDeleter,
  BlobInfo,
  BlobKey,
  BlobReader,
  BlobStore,
  BlobUploader,
  ByteRange,
  PresignOptions,
  StorageLifecycle,
  UploadHandle,
  UploadRef,
  UploadStatus,
} from './lib/blob-store.port';
export {
  BlobNotFoundError,
  DigestMismatchError,
  InvalidDigestError,
  isStorageError,
  RangeNotSatisfiableError,
  StorageArgumentError,
  StorageError,
  StorageUnavailableError,
  UploadNotFoundError,
  UploadOffsetMismatchError,
  UploadTooLargeError,
  type StorageErrorCode,
} from './lib/blob-store.errors';
export { parseDigest, type DigestAlgorithm, type ParsedDigest } from './lib/digest.util';
export { FsBlobStore, createFsBlobStore, type FsBlobStoreOptions } from './lib/fs/fs-blob-store.adapter';
export {
  S3BlobStore,
  createS3BlobStore,
  S3_MAX_PARTS,
  S3_MAX_PART_SIZE,
  S3_MIN_PART_SIZE,
  type S3BlobStoreOptions,
} from './lib/s3/s3-blob-store.adapter';
export { BlobStores, createBlobStores, type StorageConfig, type StorageRegionConfig } from './lib/blob-stores';
export { StorageModule, type StorageModuleAsyncOptions } from './lib/storage.module';
export { BLOB_STORE, BLOB_STORES } from './lib/storage.tokens';
