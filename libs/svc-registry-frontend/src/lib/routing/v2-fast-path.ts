import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { unknownErrorBody } from '@berth/oci';
import { ROOT_LOGGER, asRegistryError, sendRegistryError } from '@berth/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataPlaneAuthGuard } from '../auth/data-plane-auth.guard';
import { BlobsHandler } from '../blobs/blobs.handler';
import { ManifestsHandler } from '../manifests/manifests.handler';
import { RegistryResolver } from '../registry/registry-resolver.service';
import type { RouteOf, V2Request } from './v2-request';
import { parseV2Route, type V2Route } from './v2-route.util';

/** Pulls: `GET`/`HEAD` of `/v2/<name>/manifests/<reference>` and `/v2/<name>/blobs/<digest>` (not uploads). */
const PULL_PATH = /^\/v2\/.+\/(manifests\/[^/]+|blobs\/(?!uploads\/?$)[^/]+)$/;

/**
 * The pull routes (manifest and blob GET/HEAD), the hottest of the data plane, answered from a Fastify `onRequest`
 * hook instead of through Nest's router, guard and filter pipeline, which cost more CPU per request than the
 * answer itself. The steps are the same as on the Nest path, in the same order: the tier limits (LimitsHook, an
 * earlier hook), then the authorization guard's own method (credentials, access, the caller's request rate), then
 * the handler; errors are answered in the OCI format as OciErrorFilter does (unexpected ones as 500 UNKNOWN with a
 * logged id, nothing internal to the client). Every other request goes on to Nest untouched.
 */
@Injectable()
export class V2FastPath implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: DataPlaneAuthGuard,
    private readonly registries: RegistryResolver,
    private readonly manifests: ManifestsHandler,
    private readonly blobs: BlobsHandler,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'v2-fast-path' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
      const path = req.url.split('?')[0] ?? '';
      if (!PULL_PATH.test(path)) return undefined;
      // Anything the route parser refuses or reads otherwise takes the Nest path, which answers it as before.
      let route: V2Route;
      try {
        route = parseV2Route(path);
      } catch {
        return undefined;
      }
      if (route.kind !== 'manifest' && route.kind !== 'blob') return undefined;
      await this.answer(req, reply, path, route);
      return reply;
    });
  }

  private async answer(
    req: FastifyRequest,
    reply: FastifyReply,
    path: string,
    route: RouteOf<'manifest' | 'blob'>,
  ): Promise<void> {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      const access = await this.guard.authorizeRequest(req, path);
      const registry = await this.registries.resolve(req.headers.host);
      const ctx: V2Request = { registry, route, req, reply, access, query: (req.query ?? {}) as V2Request['query'] };
      if (route.kind === 'manifest') await this.manifests.get({ ...ctx, route });
      else await this.blobs.get({ ...ctx, route });
    } catch (err) {
      if (reply.sent) {
        // Headers are out (a stream that failed half-way): all that is left is to end the connection.
        this.logger.warn({ err, path }, 'pull failed after the answer started');
        req.raw.destroy();
        return;
      }
      const known = asRegistryError(err);
      if (known) {
        await sendRegistryError(reply, known);
        return;
      }
      const errorId = randomUUID();
      this.logger.error({ err, errorId, path }, 'unhandled error');
      await reply.status(500).header('content-type', 'application/json').send(unknownErrorBody(errorId));
    }
  }
}
