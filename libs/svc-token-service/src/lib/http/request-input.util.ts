import type { FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';

/** Form bodies of the token endpoints are small; anything larger is refused unread. */
export const MAX_FORM_BYTES = 64 * 1024;

/** Why a request's input could not be read. */
export class RequestInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The `application/x-www-form-urlencoded` body of a token request: as parsed by the framework when it parsed
 * it, else read here from the raw stream, bounded (the runtime leaves unknown body types unparsed). A missing
 * body is an empty form; another content type or an oversize body is a RequestInputError.
 */
export async function readForm(req: FastifyRequest): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!type && (!declared || Number.isNaN(declared)) && req.headers['transfer-encoding'] === undefined) return new URLSearchParams();
  if (type !== 'application/x-www-form-urlencoded') throw new RequestInputError('the body must be application/x-www-form-urlencoded');
  if (declared > MAX_FORM_BYTES) throw new RequestInputError('the body is too large');
  // Nest's Fastify adapter registers a form parser: then the body arrives parsed (repeated keys as arrays).
  if (req.body !== undefined && req.body !== null) return formOf(req.body);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw as Readable) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new RequestInputError('the body is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function formOf(body: unknown): URLSearchParams {
  if (typeof body === 'string') return new URLSearchParams(body);
  if (typeof body !== 'object' || body === null) throw new RequestInputError('the body is not a form');
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (typeof one !== 'string') throw new RequestInputError('the body is not a form');
      form.append(key, one);
    }
  }
  return form;
}

/** Basic credentials from an Authorization header, or undefined when there are none (or they are not Basic). */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Whether a request carries an Authorization header at all (even one that is not Basic). */
export function hasAuthorization(req: FastifyRequest): boolean {
  return typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
}

/**
 * The client's address and the Host it addressed. Forwarded headers are believed only from a peer on a
 * loopback or private address (registry-frontend's /oauth2 forwarder, an in-cluster ingress), so a client on
 * the internet cannot dodge the failed-login limit by sending X-Forwarded-For.
 */
export function clientOf(req: FastifyRequest): { ip: string; host: string | undefined } {
  const peer = req.socket.remoteAddress ?? req.ip;
  if (isTrustedProxy(peer)) {
    const forwardedFor = first(req.headers['x-forwarded-for']);
    const forwardedHost = first(req.headers['x-forwarded-host']);
    return { ip: forwardedFor && isIP(forwardedFor) ? forwardedFor : peer, host: forwardedHost || req.headers.host };
  }
  return { ip: peer, host: req.headers.host };
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

function isTrustedProxy(address: string): boolean {
  const a = address.replace(/^::ffff:/, '');
  if (a === '::1' || a.startsWith('127.')) return true;
  if (/^10\./.test(a) || /^192\.168\./.test(a) || /^172\.(1[6-9]|2\d|3[01])\./.test(a)) return true;
  return /^f[cd][0-9a-f]{2}:/i.test(a);
}
