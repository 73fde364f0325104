import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DataPlaneLimits } from '../limits/data-plane-limits.service';
import { RegistryResolver } from '../registry/registry-resolver.service';
import { attachAccess, type DataPlaneAccess } from './data-plane-access';
import { DataPlaneAuthorizer } from './data-plane-authorizer.service';
import { requiredAccess } from './required-access.util';

/** The data-plane routes this guard protects; every other route (health, metrics, other services' routes in the embedded host) passes. */
const DATA_PLANE = /^\/(v2|acr\/v1)(\/|$)/;

/**
 * Every `/v2` and `/acr/v1` request is authorized here, before any handler runs and before any repository is
 * looked up: the access the request needs is derived from its method and path alone, the caller's credentials
 * (none, Basic, or a registry access token) are checked against it, and what the caller may do is attached to
 * the request for handlers that decide more (e.g. whether a cross-repository mount may read its source). The
 * caller's per-identity request rate (ACR §10: anonymous and the admin user each count as one identity) is
 * checked here too.
 */
@Injectable()
export class DataPlaneAuthGuard implements CanActivate {
  constructor(
    private readonly registries: RegistryResolver,
    private readonly authorizer: DataPlaneAuthorizer,
    private readonly limits: DataPlaneLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const path = req.url.split('?')[0] ?? '';
    if (!DATA_PLANE.test(path)) return true;
    await this.authorizeRequest(req, path);
    return true;
  }

  /**
   * Authorizes one data-plane request (`path`: its path without the query) and attaches what the caller may do;
   * throws the RegistryError to answer otherwise. Also what the GET/HEAD fast path (V2FastPath) runs.
   */
  async authorizeRequest(req: FastifyRequest, path: string): Promise<DataPlaneAccess> {
    const required = requiredAccess(req.method, path, (req.query ?? {}) as Record<string, unknown>);
    const registry = await this.registries.resolve(req.headers.host);
    const access = await this.authorizer.authorize(req, registry, required);
    // The registry-wide request rate was counted before (LimitsHook); the caller's own share is counted now that it is known.
    await this.limits.checkIdentity(registry, access.subject, this.limits.categories(req.method, path));
    attachAccess(req, access);
    return access;
  }
}
