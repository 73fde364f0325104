import { assertTag, parseDigest, type ParsedDigest } from '@berth/oci';

/** The `<reference>` of `/v2/<name>/manifests/<reference>`: a tag or a digest. */
export type ParsedReference = { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'digest'; readonly digest: ParsedDigest };

/**
 * distribution-spec: a reference is a tag or a digest. A tag can never contain `:`, so anything with one is
 * read as a digest and a malformed or unsupported one is DIGEST_INVALID (400; the conformance suite accepts
 * 400 or 404 for `sha256:totallywrong`); anything else must match the tag grammar (TAG_INVALID, 400).
 */
export function parseManifestReference(reference: string): ParsedReference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference) };
  return { kind: 'tag', tag: assertTag(reference) };
}
