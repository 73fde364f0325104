import { signWebhookBody, WEBHOOK_SIGNATURE_HEADER } from '@berth/events';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` (Berth's addition; ACR adds no header). */
export const SIGNATURE_HEADER = WEBHOOK_SIGNATURE_HEADER;

/** Headers a webhook may not set: they belong to the transport. */
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', SIGNATURE_HEADER.toLowerCase()]);

/**
 * The headers of a delivery, in ACR's order: `Content-Type: application/json` unless a custom Content-Type is set,
 * the custom headers, `Content-Length`, then the signature (when a signing key is configured; see
 * `webhookSigningKey` in @berth/events).
 */
export function deliveryHeaders(
  customHeaders: Readonly<Record<string, string>>,
  body: string,
  signingKey: string | undefined,
): Record<string, string> {
  const custom = Object.entries(customHeaders).filter(([name]) => !RESERVED.has(name.toLowerCase()));
  const headers: Record<string, string> = {};
  if (!custom.some(([name]) => name.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  for (const [name, value] of custom) headers[name] = String(value);
  headers['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
  if (signingKey !== undefined) headers[SIGNATURE_HEADER] = signWebhookBody(signingKey, body);
  return headers;
}
