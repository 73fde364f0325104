import { Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { RegistryError } from '@berth/oci';
import { berthMetrics, type GrantType, type TokenFailureReason } from '@berth/telemetry';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { basicCredentials, clientOf, hasAuthorization, readForm } from '../http/request-input.util';
import { RegistryErrorFilter } from '../http/registry-error.filter';
import { badRequest, registryTokenError, unauthorized } from './registry-token.errors';
import { RegistryTokenService } from './registry-token.service';

type QueryValue = string | string[] | undefined;

/**
 * ACR's registry token endpoints (acr.md §2.5). Thin: read the request, run one flow, send `no-store` JSON.
 * `api-version` and other unknown parameters are ignored, as ACR does.
 */
@Controller('oauth2')
@UseFilters(RegistryErrorFilter)
export class RegistryTokenController {
  constructor(private readonly tokens: RegistryTokenService) {}

  /** Docker's token flow: `GET /oauth2/token?service=&scope=` with Basic credentials, or none (anonymous pull). */
  @Get('token')
  async basic(
    @Req() req: FastifyRequest,
    @Query() query: Record<string, QueryValue>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const origin = clientOf(req);
    const credentials = basicCredentials(req.headers.authorization);
    const service = single(query['service']);
    try {
      if (hasAuthorization(req) && !credentials) throw unauthorized('only Basic credentials are accepted here');
      send(
        reply,
        await this.tokens.basicFlow(service, list(query['scope']), credentials, origin),
        credentials ? 'basic' : 'anonymous',
      );
    } catch (e) {
      throw failed(registryTokenError(e, { realm: service }), credentials ? 'basic' : 'anonymous');
    }
  }

  /** OAuth2 grants: `refresh_token` (an ACR refresh token) and `password` (credentials, or empty for anonymous). */
  @Post('token')
  @HttpCode(200)
  async grant(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    try {
      const form = await readForm(req);
      const origin = clientOf(req);
      const service = form.get('service') ?? undefined;
      const scopes = form.getAll('scope');
      switch (form.get('grant_type')) {
        case 'refresh_token':
          send(
            reply,
            await this.tokens.refreshTokenGrant(service, scopes, form.get('refresh_token') ?? '', origin),
            'refresh_token',
          );
          return;
        case 'password':
          send(
            reply,
            await this.tokens.passwordGrant(
              service,
              scopes,
              form.get('username') || undefined,
              form.get('password') || undefined,
              origin,
            ),
            'password',
          );
          return;
        case null:
          throw badRequest('grant_type is required');
        default:
          throw badRequest('grant_type must be refresh_token or password');
      }
    } catch (e) {
      throw failed(registryTokenError(e), 'other');
    }
  }

  /** `POST /oauth2/exchange`: an identity access token for a registry refresh token. */
  @Post('exchange')
  @HttpCode(200)
  async exchange(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    try {
      const form = await readForm(req);
      const grant = form.get('grant_type');
      // ACR still accepts the deprecated `access_token_refresh_token` grant with just the access token.
      if (grant !== 'access_token' && grant !== 'access_token_refresh_token')
        throw badRequest('grant_type must be access_token');
      const service = form.get('service') ?? undefined;
      send(
        reply,
        await this.tokens.exchange(
          service,
          form.get('access_token') ?? '',
          form.get('tenant') || undefined,
          clientOf(req),
        ),
        'access_token',
      );
    } catch (e) {
      throw failed(registryTokenError(e), 'access_token');
    }
  }
}

/** Answers a token response and counts what was issued (`berth.token.issued`). */
function send(reply: FastifyReply, body: object, grantType: GrantType): void {
  const metrics = berthMetrics();
  if ('access_token' in body) metrics.tokenIssued({ kind: 'access', grantType });
  if ('refresh_token' in body) metrics.tokenIssued({ kind: 'refresh', grantType });
  void reply.status(200).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
}

function single(v: QueryValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function list(v: QueryValue): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Counts a refused token request (`berth.token.failures`) by a bounded reason, and passes the error on. */
function failed(err: unknown, grantType: GrantType): unknown {
  const status = err instanceof RegistryError ? err.status : 500;
  const reason: TokenFailureReason =
    status === 400
      ? 'invalid_request'
      : status === 401
        ? 'invalid_credentials'
        : status === 429
          ? 'throttled'
          : status === 503
            ? 'unavailable'
            : 'other';
  berthMetrics().tokenFailed({ grantType, reason });
  return err;
}
