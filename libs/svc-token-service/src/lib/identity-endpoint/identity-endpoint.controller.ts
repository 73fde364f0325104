import { Controller, Get, Header, HttpCode, Param, Post, Req, UseFilters } from '@nestjs/common';
import { berthMetrics, type GrantType, type TokenFailureReason } from '@berth/telemetry';
import type { FastifyRequest } from 'fastify';
import { basicCredentials, clientOf, readForm, RequestInputError } from '../http/request-input.util';
import { EntraError } from './entra-error';
import { EntraErrorFilter } from './entra-error.filter';
import { IdentityEndpointService, type EntraTokenResponse } from './identity-endpoint.service';

/** The Entra-shaped identity endpoint: `/{tenant}/v2.0/.well-known/openid-configuration`, JWKS, token. */
@Controller()
@UseFilters(EntraErrorFilter)
export class IdentityEndpointController {
  constructor(private readonly identity: IdentityEndpointService) {}

  @Get(':tenant/v2.0/.well-known/openid-configuration')
  openIdConfiguration(@Param('tenant') tenant: string): Promise<Record<string, unknown>> {
    return this.identity.openIdConfiguration(tenant);
  }

  @Get(':tenant/discovery/v2.0/keys')
  keys(@Param('tenant') tenant: string): Promise<unknown> {
    return this.identity.tenantKeys(tenant);
  }

  /** Client credentials with `client_secret_post` (form) or `client_secret_basic` (header), never both. */
  @Post(':tenant/oauth2/v2.0/token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @Header('pragma', 'no-cache')
  async token(@Param('tenant') tenant: string, @Req() req: FastifyRequest): Promise<EntraTokenResponse> {
    let grantType: GrantType = 'other';
    try {
      const issued = await this.issue(tenant, req, (g) => (grantType = g === 'client_credentials' ? g : 'other'));
      berthMetrics().tokenIssued({ kind: 'management', grantType: 'client_credentials' });
      return issued;
    } catch (e) {
      berthMetrics().tokenFailed({ grantType, reason: failureReason(e) });
      throw e;
    }
  }

  private async issue(tenant: string, req: FastifyRequest, grant: (g: string | null) => void): Promise<EntraTokenResponse> {
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (e) {
      if (e instanceof RequestInputError) throw new EntraError(400, 'invalid_request', 900144, `The request is not valid: ${e.message}.`);
      throw e;
    }
    grant(form.get('grant_type'));
    const header = basicCredentials(req.headers.authorization);
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    if (header) {
      if (clientSecret) throw new EntraError(400, 'invalid_request', 90014, 'Use one client authentication method: client_secret_basic or client_secret_post.');
      // RFC 6749 §2.3.1: client_secret_basic form-encodes both values before base64.
      const id = formDecode(header.username);
      if (clientId && clientId !== id) throw new EntraError(400, 'invalid_request', 90014, 'client_id does not match the Authorization header.');
      clientId = id;
      clientSecret = formDecode(header.password);
    }
    return this.identity.clientCredentials(tenant, {
      grantType: form.get('grant_type'),
      scope: form.get('scope'),
      clientId,
      clientSecret,
      clientIp: clientOf(req).ip,
    });
  }
}

/** A refused management-token request as `berth.token.failures` counts it (a bounded reason). */
function failureReason(e: unknown): TokenFailureReason {
  if (!(e instanceof EntraError)) return e instanceof Error && /unavailable|timeout|ECONNREFUSED/i.test(e.message) ? 'unavailable' : 'other';
  switch (e.error) {
    case 'invalid_client':
      return e.aadsts === 7000222 ? 'expired' : 'invalid_credentials';
    case 'unauthorized_client':
      return 'disabled';
    case 'invalid_grant':
      return 'throttled';
    case 'invalid_request':
    case 'unsupported_grant_type':
    case 'invalid_scope':
    case 'invalid_resource':
    case 'invalid_tenant':
      return 'invalid_request';
  }
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
