import { Inject, Injectable } from '@nestjs/common';
import {
  identityIssuer,
  parseSubjectId,
  registryIssuer,
  TokenInvalidError,
  verifyToken,
  type IdentityTokenClaims,
  type RegistryAccessClaims,
  type RegistryRefreshClaims,
  type Subject,
} from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import { decodeJwt } from 'jose';
import type { DataSource } from 'typeorm';
import type { RegistryFacts, RegistryIdRef } from './registry-facts';
import { RegistryDirectory } from './registry-directory.service';
import { SigningKeys } from './signing-keys.service';

/** Who an identity access token was issued to (still an enabled principal of that tenant). */
export interface IdentityTokenInfo {
  tenantId: string;
  principalId: string;
  clientId: string;
  kind: 'ServicePrincipal' | 'User';
  /** The token's audience. */
  audience: string;
}

/** A verified registry token: its claims and the subject its `sub` names. */
export interface VerifiedRegistryToken<C> {
  claims: C;
  subject: Subject;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verified registry access tokens kept in memory (the data plane sees the same token on every request of a
 * client): at most this many, each only until its `exp` (never the clock tolerance beyond it), and only tokens
 * short enough that the cache stays small (about 4 MiB at most).
 */
const VERIFIED_CACHE_MAX = 2048;
const VERIFIED_CACHE_MAX_TOKEN_CHARS = 2048;

interface VerifiedAccessEntry {
  readonly verified: VerifiedRegistryToken<RegistryAccessClaims>;
  readonly registryId: string;
  readonly audience: string;
  readonly expiresAtMs: number;
}

/**
 * Verifies Berth's tokens against its own key set (see @berth/auth verifyToken for what is checked). Every
 * failure is a TokenInvalidError; callers answer 401 and log the reason, never the token.
 */
@Injectable()
export class TokenVerifier {
  /** Registry access tokens that verified, by the exact token string (see VERIFIED_CACHE_MAX). */
  private readonly verifiedAccess = new Map<string, VerifiedAccessEntry>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly registries: RegistryDirectory,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {}

  /**
   * Verifies an identity access token for one of `acceptedAudiences` (the management API passes
   * `managementAudiences(publicUrl)`, /oauth2/exchange `identityAudiences(publicUrl)`). The issuer must be this
   * installation's issuer for the token's tenant, and the principal must still exist, be enabled and belong
   * to that tenant.
   */
  async verifyIdentityToken(token: string, acceptedAudiences: readonly string[]): Promise<IdentityTokenInfo> {
    let tid: unknown;
    try {
      tid = decodeJwt(token).tid;
    } catch {
      throw new TokenInvalidError('malformed');
    }
    if (typeof tid !== 'string' || !GUID.test(tid)) throw new TokenInvalidError('claims');
    const claims = await verifyToken<IdentityTokenClaims>(token, {
      keys: (kid) => this.keys.publicKey(kid),
      issuer: identityIssuer(this.config.http.publicUrl, tid),
      audience: [...acceptedAudiences],
      kind: 'identity',
    });
    if (!GUID.test(claims.oid ?? '') || claims.sub !== claims.oid) throw new TokenInvalidError('claims');
    const [principal] = (await this.ds.query(
      `SELECT id, tenant_id, kind, client_id, enabled FROM principals WHERE id = $1`,
      [claims.oid],
    )) as Array<{ id: string; tenant_id: string; kind: 'ServicePrincipal' | 'User'; client_id: string | null; enabled: boolean }>;
    if (!principal || !principal.enabled || principal.tenant_id !== tid.toLowerCase()) throw new TokenInvalidError('claims');
    return {
      tenantId: principal.tenant_id,
      principalId: principal.id,
      clientId: principal.client_id ?? claims.appid,
      kind: principal.kind,
      audience: claims.aud,
    };
  }

  /** Verifies a registry refresh token for `registry` (aud = its canonical login server, rid = its id). */
  async verifyRegistryRefreshToken(token: string, registry: RegistryIdRef): Promise<VerifiedRegistryToken<RegistryRefreshClaims>> {
    return this.verifyRegistryToken<RegistryRefreshClaims>(token, registry, 'registry_refresh');
  }

  /**
   * Verifies a registry access token for `registry`; the frontend then checks `claims.access` per request. A token
   * that verified before is answered from memory until its `exp`, after the same registry checks (the registry
   * still exists, is the one the token names, and has the login server the token is for); the signature and the
   * claims are what the cache saves, since they cannot change for the same string.
   */
  async verifyRegistryAccessToken(token: string, registry: RegistryIdRef): Promise<VerifiedRegistryToken<RegistryAccessClaims>> {
    const known = this.peekRegistryAccessToken(token, registry);
    if (known) return known;
    const hit = this.verifiedAccess.get(token);
    if (hit) {
      if (Date.now() < hit.expiresAtMs) {
        const facts = await this.registries.byId(registry.id);
        if (facts && facts.id === hit.registryId && facts.canonicalLoginServer === hit.audience) return hit.verified;
      } else {
        this.verifiedAccess.delete(token);
      }
    }
    const verified = await this.verifyRegistryToken<RegistryAccessClaims>(token, registry, 'registry_access');
    if (!Array.isArray(verified.claims.access)) throw new TokenInvalidError('claims');
    this.remember(token, verified);
    return verified;
  }

  /**
   * `verifyRegistryAccessToken` answered from memory only, synchronously (the pull fast path's way: no promise): the
   * remembered verification when the token verified before, has not expired and the registry facts it depends on are
   * cached and still match; undefined in every other case (then call verifyRegistryAccessToken, which decides).
   */
  peekRegistryAccessToken(token: string, registry: RegistryIdRef): VerifiedRegistryToken<RegistryAccessClaims> | undefined {
    const hit = this.verifiedAccess.get(token);
    if (!hit || Date.now() >= hit.expiresAtMs) return undefined;
    const facts = this.registries.peekById(registry.id);
    return facts && facts.id === hit.registryId && facts.canonicalLoginServer === hit.audience ? hit.verified : undefined;
  }

  private remember(token: string, verified: VerifiedRegistryToken<RegistryAccessClaims>): void {
    const exp = verified.claims.exp;
    if (token.length > VERIFIED_CACHE_MAX_TOKEN_CHARS || typeof exp !== 'number') return;
    if (this.verifiedAccess.size >= VERIFIED_CACHE_MAX) {
      const now = Date.now();
      for (const [k, e] of this.verifiedAccess) if (e.expiresAtMs <= now) this.verifiedAccess.delete(k);
      // Still full: drop the oldest entry (a Map iterates in insertion order).
      if (this.verifiedAccess.size >= VERIFIED_CACHE_MAX) this.verifiedAccess.delete(this.verifiedAccess.keys().next().value as string);
    }
    this.verifiedAccess.set(token, {
      verified,
      registryId: verified.claims.rid,
      audience: verified.claims.aud,
      expiresAtMs: exp * 1000,
    });
  }

  private async verifyRegistryToken<C extends RegistryRefreshClaims | RegistryAccessClaims>(
    token: string,
    ref: RegistryIdRef,
    kind: C['berth_kind'],
  ): Promise<VerifiedRegistryToken<C>> {
    const registry: RegistryFacts | undefined = await this.registries.byId(ref.id);
    if (!registry) throw new TokenInvalidError('audience');
    const claims = await verifyToken<C>(token, {
      keys: (kid) => this.keys.publicKey(kid),
      issuer: registryIssuer(this.config.http.publicUrl),
      audience: registry.canonicalLoginServer,
      kind,
    });
    if (claims.rid !== registry.id) throw new TokenInvalidError('audience');
    return { claims, subject: subjectOf(claims.sub, claims.tenant, registry.id) };
  }
}

/** The subject a registry token's `sub` names. */
function subjectOf(sub: string, tenantId: string, registryId: string): Subject {
  const parsed = parseSubjectId(sub);
  if (!parsed) throw new TokenInvalidError('claims');
  switch (parsed.kind) {
    case 'principal':
      return { kind: 'principal', principalId: parsed.id, tenantId };
    case 'admin':
      if (parsed.id !== registryId) throw new TokenInvalidError('claims');
      return { kind: 'admin', registryId };
    case 'token':
      return { kind: 'token', tokenId: parsed.id, registryId };
    case 'anonymous':
      return { kind: 'anonymous' };
  }
}
