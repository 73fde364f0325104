/** DI token of the BlobStores of every region this process serves. */
export const BLOB_STORES = Symbol('BLOB_STORES');

/** DI token of the home region's BlobStore (inject a narrower role type: BlobReader, BlobUploader, ...). */
export const BLOB_STORE = Symbol('BLOB_STORE');

/** DI token of the StorageConfig the module was built from (internal to StorageModule). */
export const STORAGE_CONFIG = Symbol('STORAGE_CONFIG');
