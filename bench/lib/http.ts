import * as http from 'node:http';
import type { Socket } from 'node:net';
import { pieces } from './data';

/** A request body: bytes in memory, or the range [start, end) of a generated blob, streamed with backpressure. */
export type Payload = Buffer | { readonly seed: number; readonly start: number; readonly end: number };

export interface RequestOptions {
  readonly method: string;
  readonly url: string | URL;
  readonly agent: http.Agent;
  readonly headers?: Record<string, string | number>;
  readonly body?: Payload;
  /** The request fails when its socket is idle this long (default 120 s). */
  readonly idleTimeoutMs?: number;
  /** Receives the response body instead of it being collected (downloads). */
  readonly sink?: (chunk: Buffer) => void;
  /** Largest body collected without a sink (default 8 MiB); more fails the request. */
  readonly maxBody?: number;
  /** Called with the socket the request was given (a new or a kept-alive one). */
  readonly onSocket?: (socket: Socket) => void;
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The collected body (empty when a sink took it). */
  readonly body: Buffer;
  /** Body bytes received. */
  readonly bytes: number;
}

/** Keep-alive agents: one per role, so a load test's connections are exactly its own. */
export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, keepAliveMsecs: 1000 });
}

export function header(res: Response, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function payloadLength(body: Payload | undefined): number {
  if (body === undefined) return 0;
  return Buffer.isBuffer(body) ? body.length : body.end - body.start;
}

/** One HTTP/1.1 request on `agent`; resolves for any status once the whole response body has arrived. */
export function request(opts: RequestOptions): Promise<Response> {
  const idle = opts.idleTimeoutMs ?? 120_000;
  const maxBody = opts.maxBody ?? 8 * 1024 * 1024;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = payloadLength(opts.body);
    const req = http.request(opts.url, { method: opts.method, agent: opts.agent, headers });
    let responded = false;
    req.setTimeout(idle, () => fail(new Error(`${opts.method} ${String(opts.url)}: no progress for ${idle} ms`)));
    req.on('error', fail);
    if (opts.onSocket) req.on('socket', opts.onSocket);
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (opts.sink) opts.sink(chunk);
        else if (bytes > maxBody) fail(new Error(`${opts.method} ${String(opts.url)}: response body over ${maxBody} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error(`${opts.method} ${String(opts.url)}: response aborted`)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes });
      });
    });

    const body = opts.body;
    if (body === undefined) {
      req.end();
    } else if (Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      void (async () => {
        for (const piece of pieces(body.seed, body.start, body.end)) {
          // A server that answered early (an error) or a broken connection ends the upload.
          if (responded || settled || req.destroyed) return;
          if (!req.write(piece)) {
            await new Promise<void>((done) => {
              const go = (): void => {
                req.off('drain', go);
                req.off('close', go);
                done();
              };
              req.on('drain', go);
              req.on('close', go);
            });
          }
        }
        if (!settled && !req.destroyed) req.end();
      })();
    }
  });
}

/** Resolves `location` (absolute or a path) against `base` and adds query parameters. */
export function resolveLocation(base: string, location: string, params: Record<string, string> = {}): URL {
  const url = new URL(location, base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}
