import { AuthError, ScopeInvalidError } from '@berth/auth';
import { RegistryError } from '@berth/oci';
import { RequestInputError } from '../http/request-input.util';

/** ACR's message for a refused login (it points at its docs; ours names what to check). */
const AUTH_REQUIRED = 'authentication required';

/** 401 UNAUTHORIZED in the registry error format. */
export function unauthorized(message = AUTH_REQUIRED): RegistryError {
  return new RegistryError('UNAUTHORIZED', message, null, 401);
}

/** 400 for a malformed token request (unknown grant, missing field, bad scope, wrong body type). */
export function badRequest(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, null, 400);
}

/**
 * The registry-format error for a domain failure of a token request: credentials refused → 401 (or 429
 * TOOMANYREQUESTS with Retry-After when throttled), bad input → 400. Anything else is left to the filter (500).
 * With `basic` (the Basic-auth GET flow) a 401 carries a Basic challenge, as RFC 7235 asks; its realm echoes
 * the client's `service` only when that is a plain host name (nothing to inject into the header).
 */
export function registryTokenError(e: unknown, basic?: { realm: string | undefined }): unknown {
  const mapped = map(e);
  if (basic && mapped instanceof RegistryError && mapped.status === 401) {
    const realm = basic.realm && /^[A-Za-z0-9.:-]{1,255}$/.test(basic.realm) ? basic.realm : 'berth';
    return new RegistryError(mapped.code, mapped.message, mapped.detail, 401, { 'WWW-Authenticate': `Basic realm="${realm}"` });
  }
  return mapped;
}

function map(e: unknown): unknown {
  if (e instanceof RegistryError) return e;
  if (e instanceof AuthError) {
    if (e.reason === 'throttled') {
      const retry = String(Math.max(1, e.retryAfterSec ?? 60));
      return new RegistryError('TOOMANYREQUESTS', 'too many failed logins; try again later', null, 429, { 'Retry-After': retry });
    }
    return unauthorized(e.reason === 'disabled' ? 'the credential is disabled' : e.reason === 'expired' ? 'the credential has expired' : AUTH_REQUIRED);
  }
  if (e instanceof ScopeInvalidError) return badRequest(e.message);
  if (e instanceof RequestInputError) return badRequest(e.message);
  return e;
}
