import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { VettedTarget } from './ssrf-guard';

/** How long one POST may take, connect to last byte, by default. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** The part of a response body that is read by default; the rest is discarded. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

/**
 * A `lookup` that answers every query with the vetted address: the socket connects where the guard looked, so a DNS
 * answer that changes between the check and the connect (rebinding) cannot redirect it.
 */
export function pinnedLookup(target: Pick<VettedTarget, 'address' | 'family'>): LookupFunction {
  return (_hostname, opts, callback) => {
    if (opts.all) {
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else {
      callback(null, target.address, target.family);
    }
  };
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
export function postToVettedTarget(
  target: VettedTarget,
  body: string,
  headers: Record<string, string>,
  options: SendOptions = {},
): Promise<SendResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const maxBody = options.maxBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
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
        lookup: pinnedLookup(target),
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
      req?.destroy(new Error('request aborted: the caller is stopping'));
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
