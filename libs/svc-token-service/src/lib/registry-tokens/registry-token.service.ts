import { Inject, Injectable } from '@nestjs/common';
import { anonymousPullApplies, identityAudiences, parseScopes, TokenInvalidError, type AccessEntry, type Subject } from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import {
  CredentialVerifier,
  PermissionResolver,
  RegistryDirectory,
  TokenIssuer,
  TokenVerifier,
  type RegistryFacts,
} from '@berth/identity';
import { BERTH_CONFIG } from '@berth/platform';
import { badRequest, unauthorized } from './registry-token.errors';

/** Where a token request came from: the address (for throttling) and the Host it addressed. */
export interface TokenRequestOrigin {
  ip: string;
  host: string | undefined;
}

/** `{access_token}` (Docker and ACR read `access_token`; `expires_in` lets Docker cache it). */
export interface AccessTokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
}

/**
 * The registry token flows of ACR (acr.md §2.5): the Docker Basic flow, the OAuth2 refresh-token and password
 * grants, and the exchange of an identity token for a registry refresh token. Access tokens carry the granted
 * intersection of the requested scopes and what the subject may do.
 */
@Injectable()
export class RegistryTokenService {
  constructor(
    private readonly registries: RegistryDirectory,
    private readonly credentials: CredentialVerifier,
    private readonly permissions: PermissionResolver,
    private readonly issuer: TokenIssuer,
    private readonly verifier: TokenVerifier,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {}

  /**
   * `GET /oauth2/token`: Basic credentials (any kind, including the null GUID with a refresh token), or none
   * for anonymous pull where the registry allows it.
   */
  async basicFlow(
    service: string | undefined,
    scopes: string[],
    basic: { username: string; password: string } | undefined,
    origin: TokenRequestOrigin,
  ): Promise<AccessTokenResponse> {
    const requested = parseScopes(scopes);
    const registry = await this.registry(service, origin);
    const subject = basic
      ? await this.credentials.verifyBasic(basic.username, basic.password, { registry, clientIp: origin.ip })
      : this.anonymous(registry);
    return this.accessToken(subject, registry, requested);
  }

  /** `POST /oauth2/token` with `grant_type=refresh_token`. */
  async refreshTokenGrant(service: string | undefined, scopes: string[], refreshToken: string, origin: TokenRequestOrigin): Promise<AccessTokenResponse> {
    const requested = parseScopes(scopes);
    if (!refreshToken) throw badRequest('refresh_token is required');
    const registry = await this.registry(service, origin);
    const subject = await this.credentials.verifyRefreshToken(refreshToken, registry);
    return this.accessToken(subject, registry, requested);
  }

  /**
   * `POST /oauth2/token` with `grant_type=password`: with `username`/`password`, an access token and a refresh
   * token for that credential; without (the ACR SDK sends an empty `refresh_token`), anonymous access.
   */
  async passwordGrant(
    service: string | undefined,
    scopes: string[],
    username: string | undefined,
    password: string | undefined,
    origin: TokenRequestOrigin,
  ): Promise<AccessTokenResponse> {
    const requested = parseScopes(scopes);
    const registry = await this.registry(service, origin);
    if (!username && !password) return this.accessToken(this.anonymous(registry), registry, requested);
    if (!username || !password) throw badRequest('username and password go together');
    const subject = await this.credentials.verifyBasic(username, password, { registry, clientIp: origin.ip });
    const response = await this.accessToken(subject, registry, requested);
    return { ...response, refresh_token: (await this.issuer.issueRegistryRefreshToken(subject, registry)).token };
  }

  /**
   * `POST /oauth2/exchange`: an identity access token (audience: the public URL, ARM or ACR) of an enabled
   * principal of the registry's tenant becomes a registry refresh token for that registry.
   */
  async exchange(service: string | undefined, accessToken: string, tenant: string | undefined, origin: TokenRequestOrigin): Promise<{ refresh_token: string }> {
    if (!accessToken) throw badRequest('access_token is required');
    const registry = await this.registry(service, origin);
    let identity;
    try {
      identity = await this.verifier.verifyIdentityToken(accessToken, identityAudiences(this.config.http.publicUrl));
    } catch (e) {
      if (e instanceof TokenInvalidError) throw unauthorized('the access token is invalid');
      throw e;
    }
    if (tenant && tenant.toLowerCase() !== identity.tenantId) throw unauthorized('the access token is not for that tenant');
    if (identity.tenantId !== registry.tenantId) throw unauthorized();
    const subject: Subject = { kind: 'principal', principalId: identity.principalId, tenantId: identity.tenantId };
    return { refresh_token: (await this.issuer.issueRegistryRefreshToken(subject, registry)).token };
  }

  /** The registry of the request; an unknown one is refused like a bad credential (it tells nothing). */
  private async registry(service: string | undefined, origin: TokenRequestOrigin): Promise<RegistryFacts> {
    const registry = await this.registries.forTokenRequest(service, origin.host);
    if (!registry) throw unauthorized();
    return registry;
  }

  private anonymous(registry: RegistryFacts): Subject {
    if (!anonymousPullApplies(registry)) throw unauthorized();
    return { kind: 'anonymous' };
  }

  private async accessToken(subject: Subject, registry: RegistryFacts, requested: AccessEntry[]): Promise<AccessTokenResponse> {
    const access = await this.permissions.grant(subject, registry, requested);
    const { token, expiresInSec } = await this.issuer.issueRegistryAccessToken(subject, registry, access);
    return { access_token: token, expires_in: expiresInSec };
  }
}
