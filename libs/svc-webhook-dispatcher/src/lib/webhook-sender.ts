import { createHmac } from 'node:crypto';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` (Berth's addition; ACR adds no header). */
export const SIGNATURE_HEADER = 'X-Berth-Signature';

const SIGNING_KEY_CONTEXT = 'berth-webhook-signature-v1';

/**
 * The key a webhook's deliveries are signed with: HMAC-SHA256(context, webhook id).
 *
 * TODO(security): this key is derivable by anyone who knows the webhook's resource id, so today the signature proves
 * integrity and origin only against parties that do not know that id. Replace with a configurable server secret
 * (e.g. BERTH_WEBHOOK_SIGNING_SECRET) mixed in here, or a per-webhook secret returned once at creation.
 */
export function webhookSigningKey(webhookId: string, serverSecret = ''): Buffer {
  return createHmac('sha256', `${SIGNING_KEY_CONTEXT}:${serverSecret}`).update(webhookId.toLowerCase()).digest();
}

/** `sha256=<hex>` of `body` under `key`. */
export function signBody(key: Buffer | string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

/** Headers a webhook may not set: they belong to the transport. */
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', SIGNATURE_HEADER.toLowerCase()]);

/**
 * The headers of a delivery, in ACR's order: `Content-Type: application/json` unless a custom Content-Type is set,
 * the custom headers, `Content-Length`, then the signature.
 */
export function deliveryHeaders(
  customHeaders: Readonly<Record<string, string>>,
  body: string,
  signingKey: Buffer,
): Record<string, string> {
  const custom = Object.entries(customHeaders).filter(([name]) => !RESERVED.has(name.toLowerCase()));
  const headers: Record<string, string> = {};
  if (!custom.some(([name]) => name.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  for (const [name, value] of custom) headers[name] = String(value);
  headers['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
  headers[SIGNATURE_HEADER] = signBody(signingKey, body);
  return headers;
}
