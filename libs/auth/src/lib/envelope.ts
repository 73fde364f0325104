import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { MasterKeyError } from './auth.errors';

/** The master key must carry at least 256 bits. */
export const MASTER_KEY_MIN_BYTES = 32;

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = Buffer.from('berth-envelope-v1');

/**
 * Decodes BERTH_MASTER_KEY: hex (an even number of hex digits) or base64/base64url, at least 32 bytes.
 * Throws MasterKeyError naming the rule (never the value).
 */
export function parseMasterKey(value: string): Buffer {
  const text = value.trim();
  let key: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  else throw new MasterKeyError('BERTH_MASTER_KEY must be hex or base64');
  if (key.length < MASTER_KEY_MIN_BYTES) throw new MasterKeyError(`BERTH_MASTER_KEY must decode to at least ${MASTER_KEY_MIN_BYTES} bytes`);
  return key;
}

/** A new random master key, base64 (what the embedded default writes to `<data>/master.key`). */
export function generateMasterKey(): string {
  return randomBytes(MASTER_KEY_MIN_BYTES).toString('base64');
}

/** One AES-256 key per purpose, derived from the master key with HKDF-SHA-256 (a key never serves two purposes). */
function purposeKey(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, Buffer.from(`berth:${purpose}`), 32));
}

/**
 * Encrypts a secret at rest: AES-256-GCM under a key derived for `purpose`, the purpose also bound as
 * associated data. Envelope: `v1.<iv>.<ciphertext+tag>` (base64url).
 */
export function sealSecret(masterKey: Buffer, purpose: string, plaintext: string | Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', purposeKey(masterKey, purpose), iv);
  cipher.setAAD(Buffer.from(purpose));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url')].join('.');
}

/** Decrypts an envelope of `sealSecret`. Throws MasterKeyError when it is malformed, tampered, or sealed under another key or purpose. */
export function openSecret(masterKey: Buffer, purpose: string, envelope: string): Buffer {
  const [version, ivText, bodyText, ...rest] = envelope.split('.');
  if (version !== VERSION || !ivText || !bodyText || rest.length) throw new MasterKeyError('not a Berth secret envelope');
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new MasterKeyError('not a Berth secret envelope');
  try {
    const decipher = createDecipheriv('aes-256-gcm', purposeKey(masterKey, purpose), iv);
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new MasterKeyError('a stored secret does not open with BERTH_MASTER_KEY (wrong key or tampered data)');
  }
}
