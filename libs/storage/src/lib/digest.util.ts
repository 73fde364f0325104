import { parseDigest as parseOciDigest, RegistryError, type DigestAlgorithm } from '@berth/oci';
import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './blob-store.errors';

export type { DigestAlgorithm };

/** A digest split into its parts. `digest` is the canonical `<algorithm>:<hex>` string. */
export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  readonly digest: string;
}

/**
 * Parses `sha256:<64 hex>` or `sha512:<128 hex>` with the grammar `libs/oci` owns; throws InvalidDigestError
 * (a storage error, so the port never leaks the data plane's error type) for anything else.
 */
export function parseDigest(digest: string): ParsedDigest {
  if (typeof digest !== 'string') throw new InvalidDigestError(String(digest), 'not a string');
  try {
    const parsed = parseOciDigest(digest);
    return { algorithm: parsed.algorithm, hex: parsed.encoded, digest: parsed.value };
  } catch (e) {
    if (e instanceof RegistryError) throw new InvalidDigestError(digest, e.message);
    throw e;
  }
}

/** A fresh node:crypto hasher for the algorithm. */
export function createDigestHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** `<algorithm>:<hex>` of a finished hash. */
export function formatDigest(algorithm: DigestAlgorithm, hex: string): string {
  return `${algorithm}:${hex}`;
}
