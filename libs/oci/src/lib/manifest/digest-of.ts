import { createHash } from 'node:crypto';
import type { DigestAlgorithm } from '../digest';

/** `algorithm:hex` of exactly these bytes. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
