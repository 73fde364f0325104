import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type JWK, type KeyLike } from 'jose';

/** The only signing algorithm Berth issues and accepts (ECDSA P-256 with SHA-256). */
export const SIGNING_ALGORITHM = 'ES256';

/** A public signing key as published in the JWKS. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: typeof SIGNING_ALGORITHM;
  use: 'sig';
}

/** A freshly generated key pair: the kid (its JWK thumbprint), the public JWK, and the private key as PKCS#8 PEM. */
export interface GeneratedSigningKey {
  kid: string;
  publicJwk: PublicSigningJwk;
  privatePkcs8: string;
}

/** Generates a new ES256 key pair. The kid is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    publicJwk: { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid, alg: SIGNING_ALGORITHM, use: 'sig' },
    privatePkcs8: await exportPKCS8(privateKey),
  };
}

/** The private key for signing, from its PKCS#8 PEM. */
export async function importPrivateSigningKey(pkcs8: string): Promise<KeyLike> {
  return importPKCS8(pkcs8, SIGNING_ALGORITHM);
}

/**
 * The public key of a stored JWK, for verification. Only the EC P-256 public members are used (a stored JWK
 * with a private member `d`, or of another type, is refused), so a JWK can never turn into a secret key.
 */
export async function importPublicSigningJwk(jwk: JWK): Promise<KeyLike> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || 'd' in jwk) {
    throw new Error('not an EC P-256 public key');
  }
  const key = await importJWK({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, SIGNING_ALGORITHM);
  if (key instanceof Uint8Array) throw new Error('not an EC P-256 public key');
  return key;
}
