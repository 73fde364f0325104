import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { VettedTarget } from './ssrf-guard';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` (Berth's addition; ACR adds no header). */
export const SIGNATURE_HEADER = 'X-Berth-Signature';
/** How long one delivery attempt may take, connect to last byte. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** The part of a response body that is read (and logged); the rest is discarded. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

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

/** What one attempt produced. `statusCode` is absent when no response came (refused, timed out, reset). */
export interface SendResult {
  readonly statusCode?: number;
  readonly reasonPhrase?: string;
  readonly httpVersion?: string;
  readonly headers: Record<string, string>;
  /** Up to MAX_RESPONSE_BODY_BYTES of the body, as UTF-8. */
  readonly body: string;
  readonly truncated: boolean;
  readonly durationMs: number;
  readonly error?: string;
}

export interface SendOptions {
  timeoutMs?: number;
  maxBodyBytes?: number;
  signal?: AbortSignal;
}

/**
 * POSTs `body` to a vetted target, connecting only to `target.address` (a custom `lookup`; TLS still verifies the
 * certificate against the host name, sent as SNI). Follows no redirect (a 3xx is the result), never rejects.
 */
export function sendWebhook(
  target: VettedTarget,
  body: string,
  headers: Record<string, string>,
  options: SendOptions = {},
): Promise<SendResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const maxBody = options.maxBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if (opts.all) {
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else {
      callback(null, target.address, target.family);
    }
  };
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const timer = setTimeout(() => req?.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, durationMs: elapsed() });
    };
    const fail = (error: string) => finish({ headers: {}, body: '', truncated: false, error });
    const isHttps = target.url.protocol === 'https:';
    try {
      req = (isHttps ? https : http).request({
        protocol: target.url.protocol,
        hostname: target.host,
        port: target.url.port || (isHttps ? 443 : 80),
        path: `${target.url.pathname}${target.url.search}`,
        method: 'POST',
        headers,
        lookup: pinned,
        agent: false,
        ...(isHttps && isIP(target.host) === 0 ? { servername: target.host } : {}),
        ...(target.url.username || target.url.password
          ? { auth: `${decodeURIComponent(target.url.username)}:${decodeURIComponent(target.url.password)}` }
          : {}),
      });
    } catch (err) {
      fail(`request not sent: ${(err as Error).message}`);
      return;
    }
    function onAbort(): void {
      req?.destroy(new Error('delivery aborted: the dispatcher is stopping'));
    }
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => fail(err.message));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const respHeaders: Record<string, string> = {};
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i] as string;
        const value = res.rawHeaders[i + 1] as string;
        respHeaders[name] = respHeaders[name] === undefined ? value : `${respHeaders[name]}, ${value}`;
      }
      const done = () =>
        finish({
          statusCode: res.statusCode,
          reasonPhrase: res.statusMessage,
          httpVersion: res.httpVersion,
          headers: respHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
          truncated,
        });
      res.on('data', (chunk: Buffer) => {
        if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size));
        size += chunk.length;
        if (size > maxBody) {
          truncated = true;
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.end(body);
  });
}
