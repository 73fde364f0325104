import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DataPlaneLimits } from '../limits/data-plane-limits.service';
import type { RegistryRef } from '../registry/registry-ref';
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
 * request rates (ACR §10: per registry, and per identity, where anonymous and the admin user each count as one
 * identity) are counted here too, in one call.
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
   * throws the RegistryError to answer otherwise. Then counts the request rates, the registry's and the caller's
   * buckets in one counter-store call; a request refused here (bad path, no or bad credentials, lacking access) is
   * still counted against the registry, and answered 429 instead once the registry is over its rate, as when the
   * registry-wide count ran before authentication.
   */
  async authorizeRequest(req: FastifyRequest, path: string): Promise<DataPlaneAccess> {
    const categories = this.limits.categories(req.method, path);
    let registry: RegistryRef | undefined;
    let access: DataPlaneAccess;
    try {
      const required = requiredAccess(req.method, path, (req.query ?? {}) as Record<string, unknown>);
      registry = await this.registries.resolve(req.headers.host);
      access = await this.authorizer.authorize(req, registry, required);
    } catch (refused) {
      // An unknown registry is not counted (it has no budget); a path refused before the registry was resolved is.
      registry ??= this.registries.peek(req.headers.host);
      if (registry) await this.limits.checkRequest(registry, undefined, categories, req);
      throw refused;
    }
    await this.limits.checkRequest(registry, access.subject, categories, req);
    attachAccess(req, access);
    return access;
  }
}
