import { RegistryError } from './errors';

/** image-spec descriptor.md: algorithm ":" encoded. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Algorithms Berth can verify, with the exact form of their encoded part (lower-case hex only). */
export const DIGEST_ALGORITHMS = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
} as const;

export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly encoded: string;
  /** `algorithm:encoded`, the canonical string. */
  readonly value: string;
}

export function isSupportedAlgorithm(alg: string): alg is DigestAlgorithm {
  return Object.prototype.hasOwnProperty.call(DIGEST_ALGORITHMS, alg);
}

/**
 * Parses a digest Berth can verify. A malformed digest, or one of an algorithm Berth does not
 * implement, is refused with DIGEST_INVALID (the spec's answer to both).
 */
export function parseDigest(input: string): ParsedDigest {
  if (typeof input !== 'string' || input.length > 256 || !DIGEST_GRAMMAR.test(input)) {
    throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: truncate(input) });
  }
  const sep = input.indexOf(':');
  const algorithm = input.slice(0, sep);
  const encoded = input.slice(sep + 1);
  if (!isSupportedAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm}`, { digest: truncate(input) });
  }
  if (!DIGEST_ALGORITHMS[algorithm].test(encoded)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${algorithm} digest`, { digest: truncate(input) });
  }
  return { algorithm, encoded, value: input };
}

/** True when `input` is a digest Berth can verify; never throws. */
export function isDigest(input: string): boolean {
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

function truncate(s: unknown): string {
  const str = typeof s === 'string' ? s : String(s);
  return str.length > 140 ? `${str.slice(0, 140)}…` : str;
}
