/**
 * SQL patterns the content tables check (the same grammar as libs/oci, kept here so that no row can carry a key
 * the storage layout or a client would choke on).
 *
 * OCI image-spec digest: `algorithm ":" encoded`, algorithm `[a-z0-9]+([+._-][a-z0-9]+)*`, encoded `[a-zA-Z0-9=_-]+`.
 */
export const DIGEST_PATTERN = '^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$';

/** OCI distribution-spec tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export const TAG_PATTERN = '^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$';

/** Largest manifest Berth stores (4 MiB, as ACR, distribution and zot). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
