import { Inject, Injectable } from '@nestjs/common';
import { AuthError, identityAudiences, identityIssuer, resourceOfScope } from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { CredentialVerifier, SigningKeys, TokenIssuer } from '@berth/identity';
import { BERTH_CONFIG } from '@berth/platform';
import type { DataSource } from 'typeorm';
import { EntraError } from './entra-error';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The parameters of a client-credentials token request, from the form and (client_secret_basic) the header. */
export interface ClientCredentialsRequest {
  grantType: string | null;
  scope: string | null;
  clientId: string | null;
  clientSecret: string | null;
  clientIp: string;
}

/** Entra's v2.0 token response for an app token. */
export interface EntraTokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

/**
 * An identity endpoint shaped like Entra ID's v2.0 endpoint, enough for `@azure/identity`'s
 * ClientSecretCredential (authorityHost = Berth, instance discovery off): OpenID configuration, JWKS and the
 * client-credentials grant for `<resource>/.default` of Berth's accepted audiences.
 */
@Injectable()
export class IdentityEndpointService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    private readonly credentials: CredentialVerifier,
    private readonly issuer: TokenIssuer,
    private readonly keys: SigningKeys,
  ) {}

  /** The OpenID configuration of a tenant (its id, as Entra's tenant-specific authority). */
  async openIdConfiguration(tenant: string): Promise<Record<string, unknown>> {
    const tenantId = await this.tenantId(tenant);
    const base = `${this.config.http.publicUrl}/${tenantId}`;
    return {
      issuer: identityIssuer(this.config.http.publicUrl, tenantId),
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      grant_types_supported: ['client_credentials'],
      response_types_supported: ['token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      scopes_supported: ['.default'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid', 'azp', 'idtyp', 'ver'],
      tenant_region_scope: null,
      cloud_instance_name: new URL(this.config.http.publicUrl).host,
      cloud_graph_host_name: new URL(this.config.http.publicUrl).host,
      msgraph_host: new URL(this.config.http.publicUrl).host,
      request_uri_parameter_supported: false,
      frontchannel_logout_supported: false,
      http_logout_supported: false,
    };
  }

  /** The tenant's JWKS (Berth signs every tenant's tokens with the same keys). */
  async tenantKeys(tenant: string): Promise<unknown> {
    await this.tenantId(tenant);
    return this.keys.jwks();
  }

  /** The client-credentials grant. */
  async clientCredentials(tenant: string, req: ClientCredentialsRequest): Promise<EntraTokenResponse> {
    const tenantId = await this.tenantId(tenant);
    if (req.grantType !== 'client_credentials') {
      if (!req.grantType) throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
      throw new EntraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type; this endpoint issues client_credentials tokens only.');
    }
    if (!req.clientId) throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    if (!req.scope) throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    const resource = resourceOfScope(req.scope);
    if (!resource) {
      throw new EntraError(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
    }
    if (!identityAudiences(this.config.http.publicUrl).includes(resource)) {
      throw new EntraError(400, 'invalid_resource', 500011, 'The resource principal was not found in this tenant.');
    }
    if (!req.clientSecret) throw new EntraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    let principal;
    try {
      principal = await this.credentials.verifyClientSecret(req.clientId, req.clientSecret, { tenantId, clientIp: req.clientIp });
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      switch (e.reason) {
        case 'invalid':
          throw new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided, or the application was not found in the directory.');
        case 'disabled':
          throw new EntraError(400, 'unauthorized_client', 7000112, 'Application is disabled.');
        case 'expired':
          throw new EntraError(401, 'invalid_client', 7000222, 'The provided client secret keys are expired.');
        case 'throttled':
          throw new EntraError(400, 'invalid_grant', 50053, 'The account is locked: too many sign-in attempts. Try again later.', {
            'Retry-After': String(Math.max(1, e.retryAfterSec ?? 60)),
          });
      }
    }
    const issued = await this.issuer.issueIdentityToken({
      tenantId,
      principalId: principal.principalId,
      clientId: req.clientId.toLowerCase(),
      idtyp: 'app',
      audience: resource,
    });
    return { token_type: 'Bearer', expires_in: issued.expiresInSec, ext_expires_in: issued.expiresInSec, access_token: issued.token };
  }

  /** A tenant path segment must be the GUID of a tenant Berth knows (names and `common`/`organizations` are not served). */
  private async tenantId(tenant: string): Promise<string> {
    const id = tenant.toLowerCase();
    const rows = GUID.test(id) ? ((await this.ds.query(`SELECT id FROM tenants WHERE id = $1`, [id])) as unknown[]) : [];
    if (rows.length === 0) {
      throw new EntraError(400, 'invalid_tenant', 90002, 'Tenant not found. Use the tenant id (a GUID) of an existing Berth tenant.');
    }
    return id;
  }
}
