import { Inject, Injectable } from '@nestjs/common';
import {
  accessIncludes,
  allowedRepositoryActions,
  AuthError,
  subjectId,
  TokenInvalidError,
  type AccessEntry,
  type AllowedAccess,
  type RegistryAccessClaims,
  type RepositoryAction,
} from '@berth/auth';
import { CredentialVerifier, PermissionResolver, TokenVerifier, type VerifiedRegistryToken } from '@berth/identity';
import { RegistryError } from '@berth/oci';
import { ROOT_LOGGER } from '@berth/platform';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RegistryRef } from '../registry/registry-ref';
import { authChallenge, tokenRealm, type ChallengeError } from './challenge.util';
import type { DataPlaneAccess } from './data-plane-access';
import type { RequiredAccess } from './required-access.util';

/**
 * Decides whether the caller of one data-plane request has the access it needs, as ACR does:
 * - no credentials: anonymous pull where the registry allows it (never on Basic), else a 401 Bearer challenge;
 * - `Basic`: the credential (service principal, user, admin user, repository token, or the null GUID with a
 *   refresh token) is verified and its permissions resolved; lacking the access is 403 DENIED;
 * - `Bearer`: a registry access token of THIS registry (audience and registry id checked); a bad token is a
 *   401 challenge with `error="invalid_token"`, one without the access a 401 with `error="insufficient_scope"`
 *   naming the scope to ask for (clients then fetch a token for it).
 * The decision never depends on whether the repository exists. Failed logins are throttled (429).
 */
@Injectable()
export class DataPlaneAuthorizer {
  private readonly logger: Logger;
  /** Keyed by TokenVerifier's remembered verification: dropped with it. */
  private readonly accessByToken = new WeakMap<VerifiedRegistryToken<RegistryAccessClaims>, DataPlaneAccess>();

  constructor(
    private readonly credentials: CredentialVerifier,
    private readonly permissions: PermissionResolver,
    private readonly tokens: TokenVerifier,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'data-plane-auth' });
  }

  /**
   * The hot path's shortcut, synchronous: the access of a Bearer caller whose token verified before (TokenVerifier's
   * memory) and covers `required`; undefined in every other case, including every refusal (then `authorize`, which
   * decides and builds the right error).
   */
  authorizeFromMemory(req: FastifyRequest, registry: RegistryRef, required: RequiredAccess): DataPlaneAccess | undefined {
    const header = req.headers.authorization;
    if (!header || header.length < 8 || !/^bearer /i.test(header)) return undefined;
    const verified = this.tokens.peekRegistryAccessToken(header.slice(7).trim(), registry);
    if (!verified) return undefined;
    const access = this.tokenAccess(verified);
    return satisfies(access, required) && !(required.kind === 'repository' && required.mountFrom) ? access : undefined;
  }

  async authorize(req: FastifyRequest, registry: RegistryRef, required: RequiredAccess): Promise<DataPlaneAccess> {
    const challenge = (error?: ChallengeError, message?: string): RegistryError =>
      authChallenge(
        {
          realm: tokenRealm(req.protocol, req.headers.host, registry.loginServer),
          service: registry.loginServer.toLowerCase(),
          required,
          error,
        },
        message,
      );
    const header = req.headers.authorization;
    if (!header) {
      if (required.kind !== 'authenticated' && registry.anonymousPullEnabled) {
        const allowed = await this.permissions.allowed({ kind: 'anonymous' }, registry);
        const access = fromAllowed('anonymous', allowed);
        if (satisfies(access, required)) return access;
      }
      throw challenge();
    }
    const space = header.indexOf(' ');
    const scheme = (space > 0 ? header.slice(0, space) : header).toLowerCase();
    const value = space > 0 ? header.slice(space + 1).trim() : '';
    if (scheme === 'basic') return this.basic(req, registry, required, value, challenge);
    if (scheme === 'bearer') return this.bearer(registry, required, value, challenge);
    throw challenge(undefined, 'unsupported authorization scheme');
  }

  private async basic(
    req: FastifyRequest,
    registry: RegistryRef,
    required: RequiredAccess,
    value: string,
    challenge: (error?: ChallengeError, message?: string) => RegistryError,
  ): Promise<DataPlaneAccess> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw challenge(undefined, 'malformed basic credentials');
    let access: DataPlaneAccess;
    try {
      const subject = await this.credentials.verifyBasic(decoded.slice(0, colon), decoded.slice(colon + 1), {
        registry,
        clientIp: req.ip,
      });
      access = fromAllowed(subjectId(subject), await this.permissions.allowed(subject, registry));
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      if (e.reason === 'throttled') {
        throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins; try again later', null, 429, {
          'Retry-After': String(Math.max(1, Math.ceil(e.retryAfterSec ?? 60))),
        });
      }
      throw challenge(undefined, 'invalid credentials');
    }
    if (!satisfies(access, required)) {
      throw new RegistryError('DENIED', 'requested access to the resource is denied', null, 403);
    }
    return access;
  }

  private async bearer(
    registry: RegistryRef,
    required: RequiredAccess,
    token: string,
    challenge: (error?: ChallengeError, message?: string) => RegistryError,
  ): Promise<DataPlaneAccess> {
    let verified: VerifiedRegistryToken<RegistryAccessClaims>;
    try {
      verified = await this.tokens.verifyRegistryAccessToken(token, registry);
    } catch (e) {
      if (!(e instanceof TokenInvalidError)) throw e;
      this.logger.debug({ reason: e.reason, registryId: registry.id }, 'access token refused');
      throw challenge('invalid_token', 'invalid or expired token');
    }
    const access = this.tokenAccess(verified);
    if (!satisfies(access, required)) throw challenge('insufficient_scope', 'insufficient scope');
    // A mount's source is part of what a token must name (as in distribution): the challenge asks for both, so
    // the client's next token covers the source; Basic callers without pull on it fall back to a plain upload.
    if (required.kind === 'repository' && required.mountFrom && !access.can('pull', required.mountFrom)) {
      throw challenge('insufficient_scope', 'insufficient scope');
    }
    return access;
  }

  /** The access a verified token grants, built once per remembered verification (the same object on every hit). */
  private tokenAccess(verified: VerifiedRegistryToken<RegistryAccessClaims>): DataPlaneAccess {
    let access = this.accessByToken.get(verified);
    if (!access) {
      access = fromToken(verified.claims.sub, verified.claims.access);
      this.accessByToken.set(verified, access);
    }
    return access;
  }
}

/** Whether what the caller may do covers what the request needs. */
function satisfies(access: DataPlaneAccess, required: RequiredAccess): boolean {
  switch (required.kind) {
    case 'authenticated':
      return true;
    case 'catalog':
      return access.catalog;
    case 'repository':
      return access.can(required.action, required.name);
  }
}

function fromAllowed(subject: string, allowed: AllowedAccess): DataPlaneAccess {
  return {
    subject,
    catalog: allowed.catalog,
    can: (action, name) => allowedRepositoryActions(allowed, name).includes(action),
    canEverywhere: (action) => allowed.repositories.some((r) => r.pattern === '*' && r.actions.includes(action)),
  };
}

function fromToken(subject: string, granted: readonly AccessEntry[]): DataPlaneAccess {
  return {
    subject,
    catalog: accessIncludes(granted, 'registry', 'catalog', '*'),
    can: (action: RepositoryAction, name: string) => accessIncludes(granted, 'repository', name, action),
    // A token names repositories one by one: it never covers repositories it does not name.
    canEverywhere: () => false,
  };
}
