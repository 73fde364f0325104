/**
 * Errors of the identity core. They carry a reason code, never a secret: the edge (token-service's
 * controllers, the frontend's filter, the management API) renders them in its own wire format.
 */

/** Why a credential was refused. `throttled` carries how long the caller must wait. */
export type AuthFailureReason = 'invalid' | 'disabled' | 'expired' | 'throttled';

/** A credential (Basic username/password, client secret, refresh token used as a password) was refused. */
export class AuthError extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
    /** Seconds until another attempt may succeed (only for `throttled`). */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Why a token failed verification (for logs and tests; clients only ever learn "invalid token"). */
export type TokenInvalidReason =
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'kind'
  | 'claims';

/** A token failed verification. */
export class TokenInvalidError extends Error {
  constructor(
    readonly reason: TokenInvalidReason,
    message = `invalid token (${reason})`,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A Docker scope string does not follow `type:name:actions`, or names an invalid repository. */
export class ScopeInvalidError extends Error {
  constructor(readonly scope: string, reason: string) {
    super(`invalid scope: ${reason}`);
    this.name = new.target.name;
  }
}

/** The master key is missing, too short, not base64/hex, or does not open a stored envelope. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
