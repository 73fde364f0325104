import { Inject, Injectable } from '@nestjs/common';
import {
  identityIssuer,
  registryIssuer,
  signToken,
  subjectId,
  timeClaims,
  TOKEN_LIFETIME_SEC,
  type AccessEntry,
  type IdentityTokenClaims,
  type RegistryAccessClaims,
  type RegistryRefreshClaims,
  type Subject,
} from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG } from '@berth/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import type { RegistryFacts } from './registry-facts';
import { SigningKeys } from './signing-keys.service';

/** A signed token and how long it lives. */
export interface IssuedToken {
  token: string;
  expiresInSec: number;
}

/** Who an identity access token is for. */
export interface IdentityTokenRequest {
  tenantId: string;
  principalId: string;
  clientId: string;
  idtyp: 'app' | 'user';
  /** The resource of the requested `<resource>/.default` scope (already checked to be an accepted audience). */
  audience: string;
}

/** Issues Berth's three token kinds with the current signing key (claim sets: docs/architecture.md and @berth/auth). */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {}

  /** An Entra-shaped identity access token (1 h). */
  async issueIdentityToken(req: IdentityTokenRequest, now: Date = new Date()): Promise<IssuedToken> {
    const claims: IdentityTokenClaims = {
      iss: identityIssuer(this.config.http.publicUrl, req.tenantId),
      aud: req.audience,
      sub: req.principalId,
      oid: req.principalId,
      tid: req.tenantId,
      appid: req.clientId,
      azp: req.clientId,
      idtyp: req.idtyp,
      ver: '2.0',
      ...timeClaims(now, TOKEN_LIFETIME_SEC.identityAccess),
      uti: randomBytes(16).toString('base64url'),
      berth_kind: 'identity',
    };
    return this.sign(claims, TOKEN_LIFETIME_SEC.identityAccess, now);
  }

  /** A registry refresh token (3 h) for `subject` on `registry`. */
  async issueRegistryRefreshToken(subject: Subject, registry: RegistryFacts, now: Date = new Date()): Promise<IssuedToken> {
    const claims: RegistryRefreshClaims = {
      ...this.registryBase(subject, registry, now, TOKEN_LIFETIME_SEC.registryRefresh),
      grant_type: 'refresh_token',
      berth_kind: 'registry_refresh',
      permissions: { actions: ['*'], notActions: [] },
    };
    return this.sign(claims, TOKEN_LIFETIME_SEC.registryRefresh, now);
  }

  /** A registry access token (10 min) carrying exactly `access` (the granted intersection). */
  async issueRegistryAccessToken(
    subject: Subject,
    registry: RegistryFacts,
    access: AccessEntry[],
    now: Date = new Date(),
  ): Promise<IssuedToken> {
    const claims: RegistryAccessClaims = {
      ...this.registryBase(subject, registry, now, TOKEN_LIFETIME_SEC.registryAccess),
      grant_type: 'access_token',
      berth_kind: 'registry_access',
      access,
    };
    return this.sign(claims, TOKEN_LIFETIME_SEC.registryAccess, now);
  }

  private registryBase(subject: Subject, registry: RegistryFacts, now: Date, lifetime: number) {
    return {
      iss: registryIssuer(this.config.http.publicUrl),
      aud: registry.canonicalLoginServer,
      sub: subjectId(subject),
      jti: randomUUID(),
      ...timeClaims(now, lifetime),
      version: '1.0' as const,
      tenant: registry.tenantId,
      rid: registry.id,
      roles: [],
    };
  }

  private async sign(claims: object, expiresInSec: number, now: Date): Promise<IssuedToken> {
    return { token: await signToken(claims, await this.keys.currentSigner(now)), expiresInSec };
  }
}
