import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { TokenInvalidError, type TokenInvalidReason } from './auth.errors';
import { CLOCK_TOLERANCE_SEC, type TokenKind } from './claims';
import { SIGNING_ALGORITHM } from './signing-key';

/** The key a token is signed with: its kid goes into the header. */
export interface TokenSigner {
  kid: string;
  privateKey: KeyLike;
}

/**
 * Finds the public key for a kid in Berth's OWN key set, or undefined when the kid is unknown. Verification
 * never takes a key from the token (`jwk`, `jku`, `x5u`, `x5c` headers are ignored).
 */
export type PublicKeyLookup = (kid: string) => Promise<KeyLike | undefined>;

export interface VerifyTokenOptions {
  keys: PublicKeyLookup;
  /** Accepted issuer(s). */
  issuer: string | string[];
  /** Accepted audience(s); the token's `aud` must be one of them. */
  audience: string | string[];
  /** The `berth_kind` the token must carry. */
  kind: TokenKind;
  /** The verification time (tests); defaults to now. */
  now?: Date;
}

/** Signs claims as a compact JWT with header `{alg:'ES256', typ:'JWT', kid}`. */
export async function signToken(claims: object, signer: TokenSigner): Promise<string> {
  return new SignJWT({ ...(claims as JWTPayload) })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid: signer.kid })
    .sign(signer.privateKey);
}

/**
 * Verifies a token and returns its claims. The algorithm is pinned to ES256 (so `alg: none` and HS256 with
 * the public key as the secret fail), the key is chosen only by `kid` from `keys`, and `iss`, `aud`, `exp`,
 * `nbf` (30 s tolerance), `iat`, `sub` and `berth_kind` are checked. Throws TokenInvalidError with the reason.
 */
export async function verifyToken<T extends object>(token: string, options: VerifyTokenOptions): Promise<T> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 16384 || token.split('.').length !== 3) {
    throw new TokenInvalidError('malformed');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenInvalidError('malformed');
  }
  if (header.alg !== SIGNING_ALGORITHM) throw new TokenInvalidError('algorithm');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 256) throw new TokenInvalidError('unknown_kid');
  const key = await options.keys(header.kid);
  if (!key) throw new TokenInvalidError('unknown_kid');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: CLOCK_TOLERANCE_SEC,
      currentDate: options.now,
      requiredClaims: ['exp', 'nbf', 'iat', 'sub', 'iss', 'aud'],
    }));
  } catch (e) {
    throw new TokenInvalidError(reasonOf(e));
  }
  if (payload['berth_kind'] !== options.kind) throw new TokenInvalidError('kind');
  if (Array.isArray(payload.aud)) throw new TokenInvalidError('audience');
  return payload as T;
}

function reasonOf(e: unknown): TokenInvalidReason {
  if (e instanceof joseErrors.JWTExpired) return 'expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'nbf':
      case 'iat':
        return 'not_yet_valid';
      case 'iss':
        return 'issuer';
      case 'aud':
        return 'audience';
      default:
        return 'claims';
    }
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm';
  return 'malformed';
}
