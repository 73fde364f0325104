import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { unknownErrorBody } from '@berth/oci';
import { ROOT_LOGGER, asRegistryError, sendRegistryError } from '@berth/platform';
import type { ThrottleCategory } from '@berth/tiers';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { attachAccess, type DataPlaneAccess } from '../auth/data-plane-access';
import { DataPlaneAuthorizer } from '../auth/data-plane-authorizer.service';
import type { RequiredAccess } from '../auth/required-access.util';
import { BlobsHandler } from '../blobs/blobs.handler';
import { DataPlaneLimits } from '../limits/data-plane-limits.service';
import { ManifestsHandler } from '../manifests/manifests.handler';
import type { RegistryRef } from '../registry/registry-ref';
import { RegistryResolver } from '../registry/registry-resolver.service';
import { pullRouteOf, type PullRoute } from './pull-route.util';
import type { V2Request } from './v2-request';

/** A pull counts as one read (throttleCategories of GET/HEAD, not a referrers listing). */
const READ: readonly ThrottleCategory[] = ['read'];

/**
 * The pull routes (manifest and blob GET/HEAD), the hottest of the data plane, answered from a Fastify `onRequest`
 * hook instead of through Nest's router, guard and filter pipeline, which cost more CPU per request than the
 * answer itself. The steps are those of the Nest path: the registry's network rules, the caller's credentials and
 * access, the request rates, then the handler; errors are answered in the OCI format as OciErrorFilter does
 * (unexpected ones as 500 UNKNOWN with a logged id, nothing internal to the client). Every other request goes on
 * to Nest untouched (LimitsHook leaves pulls to this hook: see pullRouteOf).
 *
 * Request rates: the registry-wide and the caller's buckets are counted together, in one counter-store call, once
 * the caller is known. A request that fails authentication is still counted against the registry (and answered 429
 * rather than 401/403 once the registry is over its rate, as when the registry-wide count ran before authentication),
 * so unauthenticated floods spend the registry's budget as before.
 *
 * The common case (a remembered registry, network policy and access token, a cached manifest) runs without a
 * promise up to the one counter-store call, which is the only await.
 */
@Injectable()
export class V2FastPath implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registries: RegistryResolver,
    private readonly authorizer: DataPlaneAuthorizer,
    private readonly limits: DataPlaneLimits,
    private readonly manifests: ManifestsHandler,
    private readonly blobs: BlobsHandler,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'v2-fast-path' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Callback style: a request this hook answers never calls `done`, which ends Fastify's hook chain for it.
    fastify.addHook('onRequest', (req, reply, done) => {
      const route = pullRouteOf(req);
      if (!route) {
        done();
        return;
      }
      reply.header('Docker-Distribution-API-Version', 'registry/2.0');
      this.answer(req, reply, route);
    });
  }

  /** Never throws, never rejects: every failure is answered. */
  private answer(req: FastifyRequest, reply: FastifyReply, route: PullRoute): void {
    try {
      const registry = this.registries.peek(req.headers.host);
      const required: RequiredAccess = { kind: 'repository', name: route.name, action: 'pull' };
      const access = registry ? this.authorizer.authorizeFromMemory(req, registry, required) : undefined;
      // Throws when the network rules refuse the client; a policy not in memory comes back as a promise (loading it).
      const network = registry && access ? this.limits.checkNetwork(registry, req.ip) : undefined;
      if (!registry || !access || network) {
        // The general path checks again (the policy is then in memory), and answers any refusal.
        network?.catch(() => undefined);
        void this.answerInFull(req, reply, route, required);
        return;
      }
      attachAccess(req, access);
      this.countThenServe(req, reply, route, registry, access);
    } catch (err) {
      this.fail(req, reply, err);
    }
  }

  /** Without `async`: on a cache hit the counter's promise is the only one of the request. Never rejects. */
  private countThenServe(
    req: FastifyRequest,
    reply: FastifyReply,
    route: PullRoute,
    registry: RegistryRef,
    access: DataPlaneAccess,
  ): void {
    const failed = (err: unknown): void => this.fail(req, reply, err);
    this.limits.checkRequest(registry, access.subject, READ, req).then(() => {
      try {
        this.serve(req, reply, route, registry, access)?.catch(failed);
      } catch (err) {
        failed(err);
      }
    }, failed);
  }

  /** Every step with its promise: the first request of a client, a registry or token not remembered, any refusal. */
  private async answerInFull(req: FastifyRequest, reply: FastifyReply, route: PullRoute, required: RequiredAccess): Promise<void> {
    try {
      const registry = await this.registries.resolve(req.headers.host);
      await this.limits.checkNetwork(registry, req.ip);
      let access: DataPlaneAccess;
      try {
        access = await this.authorizer.authorize(req, registry, required);
      } catch (refused) {
        // Counted against the registry all the same; over its rate, the answer is 429 instead.
        await this.limits.checkRequest(registry, undefined, READ, req);
        throw refused;
      }
      await this.limits.checkRequest(registry, access.subject, READ, req);
      attachAccess(req, access);
      const served = this.serve(req, reply, route, registry, access);
      if (served) await served;
    } catch (err) {
      this.fail(req, reply, err);
    }
  }

  private serve(req: FastifyRequest, reply: FastifyReply, route: PullRoute, registry: RegistryRef, access: DataPlaneAccess): void | Promise<void> {
    const ctx: V2Request<PullRoute> = { registry, route, req, reply, access, query: (req.query ?? {}) as V2Request['query'] };
    return route.kind === 'manifest' ? this.manifests.answer({ ...ctx, route }) : this.blobs.get({ ...ctx, route });
  }

  private fail(req: FastifyRequest, reply: FastifyReply, err: unknown): void {
    const path = req.url.split('?')[0] ?? '';
    if (reply.sent) {
      // Headers are out (a stream that failed half-way): all that is left is to end the connection.
      this.logger.warn({ err, path }, 'pull failed after the answer started');
      req.raw.destroy();
      return;
    }
    const known = asRegistryError(err);
    if (known) {
      sendRegistryError(reply, known);
      return;
    }
    const errorId = randomUUID();
    this.logger.error({ err, errorId, path }, 'unhandled error');
    reply.status(500).header('content-type', 'application/json').send(unknownErrorBody(errorId));
  }
}
