import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Webhook signatures (Berth's addition; ACR signs nothing). Every delivery carries
 * `X-Berth-Signature: sha256=<hex HMAC-SHA256(signing key, raw request body)>`.
 *
 * The signing key of a webhook is derived from the installation's master key with HKDF-SHA256:
 * `base64url(HKDF(ikm = master key bytes, salt = "berth-webhook-signing-v1", info = lower-case webhook id, 32 bytes))`,
 * where the master key bytes are BERTH_MASTER_KEY decoded (`loadMasterKey` of @berth/identity; the embedded default
 * generates one), the same Buffer every service holds.
 * Knowing a webhook's id tells nothing about its key; each webhook has its own key; rotating the master key rotates
 * every webhook key. Receivers get the key from the management API (the webhook's callback config) and compute
 * the HMAC with the key's ASCII text as the HMAC key, over the exact bytes received.
 */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Berth-Signature';

const HKDF_SALT = 'berth-webhook-signing-v1';

/** The signing key of a webhook (see above), or undefined when no master key is configured (deliveries unsigned). */
export function webhookSigningKey(masterKey: string | Buffer | undefined, webhookId: string): string | undefined {
  if (masterKey === undefined || masterKey.length === 0) return undefined;
  const okm = hkdfSync('sha256', masterKey, HKDF_SALT, webhookId.toLowerCase(), 32);
  return Buffer.from(okm).toString('base64url');
}

/** `sha256=<hex>` of `body` under `key`. */
export function signWebhookBody(key: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}
