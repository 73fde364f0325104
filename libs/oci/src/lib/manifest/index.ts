export * from './media-types';
export * from './manifest.types';
export { ManifestInvalidError, type ManifestInvalidDetail } from './manifest-invalid.error';
export * from './digest-of';
export { MAX_MANIFEST_BYTES, assertManifestSize, parseManifest, type ParseManifestOptions } from './parse-manifest';
export * from './manifest-references';
export * from './referrers-tag';
export * from './range';
export * from './pagination';
