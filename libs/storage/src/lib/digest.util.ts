import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './blob-store.errors';

// TODO(oci): the `oci` lib owns the digest grammar; switch to it once it exports a parser. Until then this
// accepts exactly the algorithms the registry serves (OCI image-spec descriptor.md: sha256, sha512; lowercase hex).

/** The digest algorithms blob storage can verify. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** A digest split into its parts. `digest` is the canonical `<algorithm>:<hex>` string. */
export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  readonly digest: string;
}

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };
const HEX = /^[a-f0-9]+$/;

function isAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; throws InvalidDigestError for anything else. */
export function parseDigest(digest: string): ParsedDigest {
  if (typeof digest !== 'string') throw new InvalidDigestError(String(digest), 'not a string');
  const colon = digest.indexOf(':');
  if (colon < 0) throw new InvalidDigestError(digest, 'missing "<algorithm>:" prefix');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!isAlgorithm(algorithm))
    throw new InvalidDigestError(digest, `unsupported algorithm "${algorithm.slice(0, 32)}"`);
  if (hex.length !== HEX_LENGTH[algorithm] || !HEX.test(hex)) {
    throw new InvalidDigestError(digest, `${algorithm} needs ${HEX_LENGTH[algorithm]} lowercase hex characters`);
  }
  return { algorithm, hex, digest };
}

/** A fresh node:crypto hasher for the algorithm. */
export function createDigestHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** `<algorithm>:<hex>` of a finished hash. */
export function formatDigest(algorithm: DigestAlgorithm, hex: string): string {
  return `${algorithm}:${hex}`;
}
