import * as http from 'node:http';
import * as https from 'node:https';

/** A request that got no response headers within the idle timeout. */
export class S3RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = 'S3RequestTimeoutError';
  }
}

/** The `transport` shape the minio client accepts (`Pick<typeof http, 'request'>`). */
export interface HttpTransport {
  request: typeof http.request;
}

/**
 * An http(s) transport whose requests fail with S3RequestTimeoutError when the socket is idle for `timeoutMs`
 * before the response headers arrive: this covers connect (a blackholed host), sending, and a server that
 * accepted the connection but never answers. Once the headers are in, the timeout is lifted: a response
 * body (a blob download) may then be paused for as long as its consumer needs (backpressure).
 */
export function createTimeoutTransport(useSSL: boolean, timeoutMs: number): HttpTransport {
  const base = useSSL ? https : http;
  const request = (
    options: http.RequestOptions,
    callback?: (res: http.IncomingMessage) => void,
  ): http.ClientRequest => {
    const req = base.request({ ...options, timeout: timeoutMs }, callback);
    req.on('timeout', () => req.destroy(new S3RequestTimeoutError(timeoutMs)));
    req.once('response', () => req.setTimeout(0));
    return req;
  };
  return { request: request as typeof http.request };
}

/** A keep-alive agent for the data path, or a one-shot agent (fresh connection per request) for health checks. */
export function createAgent(useSSL: boolean, keepAlive: boolean, maxSockets: number): http.Agent {
  const options: http.AgentOptions = { keepAlive, maxSockets, keepAliveMsecs: 1000 };
  return useSSL ? new https.Agent(options) : new http.Agent(options);
}

const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);
// Failures where repeating the same (idempotent) request soon is likely to work: a keep-alive socket the
// server closed under us, or the server shedding load. Not ECONNREFUSED: a down server should fail fast.
const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const TRANSIENT_S3_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'XMinioServerNotInitialized',
  'XMinioReadQuorum',
  'XMinioWriteQuorum',
]);
// The store cannot work until an operator acts (missing bucket, bad credentials, clock skew, full disk):
// callers still see "unavailable" (503), not a 500.
const UNAVAILABLE_S3_CODES = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'RequestTimeTooSkewed',
  'XMinioStorageFull',
  'XMinioAdminBucketQuotaExceeded',
]);

export type S3ErrorKind = 'transient' | 'unavailable' | 'other';

/** The `code` of a minio S3Error or a Node network error. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Sorts an error from the minio client into what the adapter does with it. */
export function classifyS3Error(err: unknown): S3ErrorKind {
  const code = errorCode(err);
  if (code !== undefined) {
    if (TRANSIENT_NETWORK_CODES.has(code) || TRANSIENT_S3_CODES.has(code)) return 'transient';
    if (UNAVAILABLE_NETWORK_CODES.has(code) || UNAVAILABLE_S3_CODES.has(code)) return 'unavailable';
  }
  if (/socket hang up/i.test(messageOf(err) ?? '')) return 'transient';
  return 'other';
}

// Duck-typed: errors from Node's core modules fail `instanceof Error` inside Jest's sandbox.
function messageOf(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** A one-line description of an error for logs and StorageUnavailableError messages (never has secrets). */
export function describeError(err: unknown): string {
  const code = errorCode(err);
  const message = messageOf(err) ?? String(err);
  const text = code && !message.includes(code) ? `${code}: ${message}` : message;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
