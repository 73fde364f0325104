import { RegistryError } from '../errors';
import { clip } from './manifest-invalid.error';

/** image-spec digest grammar; any well-formed algorithm, since the schema is defined for all of them. */
const DIGEST_GRAMMAR = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const NOT_TAG_CHAR = /[^a-zA-Z0-9._-]/g;

/**
 * distribution-spec "Referrers Tag Schema": the tag under which clients without the referrers API keep an
 * index of a digest's referrers: `<alg>-<encoded>`, the algorithm truncated to 32 characters, the encoded
 * part to 64, and characters not allowed in a tag replaced with `-`. Truncation happens before
 * replacement, as in the spec's examples. Always a valid tag (at most 97 characters, first one `[a-z0-9]`).
 * A string that is not a digest is DIGEST_INVALID.
 */
export function referrersFallbackTag(digest: string): string {
  const match = typeof digest === 'string' && digest.length <= 1024 ? DIGEST_GRAMMAR.exec(digest) : null;
  if (!match) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: clip(digest) });
  const [, algorithm, encoded] = match;
  return `${algorithm.slice(0, 32)}-${encoded.slice(0, 64)}`.replace(NOT_TAG_CHAR, '-');
}
