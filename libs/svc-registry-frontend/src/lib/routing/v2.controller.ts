import { All, Controller, Req, Res } from '@nestjs/common';
import { RegistryError } from '@berth/oci';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { accessOf } from '../auth/data-plane-access';
import { BlobsHandler } from '../blobs/blobs.handler';
import { UploadsHandler } from '../blobs/uploads.handler';
import { CatalogHandler } from '../manifests/catalog.handler';
import { ManifestsHandler } from '../manifests/manifests.handler';
import { ReferrersHandler } from '../manifests/referrers.handler';
import { TagsHandler } from '../manifests/tags.handler';
import { RegistryResolver } from '../registry/registry-resolver.service';
import type { V2Request } from './v2-request';
import { parseV2Route, type V2Route } from './v2-route.util';

/**
 * Every `/v2` request enters here: the path is parsed (repository names contain slashes, so routing is by
 * pattern, as in distribution), the registry is resolved from the Host header, and the request goes to the
 * handler of its route and method. Handlers write the response themselves (streams, exact bytes, headers).
 */
@Controller()
export class V2Controller {
  constructor(
    private readonly registries: RegistryResolver,
    private readonly blobs: BlobsHandler,
    private readonly uploads: UploadsHandler,
    private readonly manifests: ManifestsHandler,
    private readonly tags: TagsHandler,
    private readonly catalog: CatalogHandler,
    private readonly referrers: ReferrersHandler,
  ) {}

  @All(['v2', 'v2/*'])
  async handle(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    const route = parseV2Route(req.url.split('?')[0] ?? '');
    const registry = await this.registries.resolve(req.headers.host);
    const access = accessOf(req);
    if (!access) throw new RegistryError('UNAUTHORIZED', 'authentication required');
    const ctx: V2Request = { registry, route, req, reply, access, query: (req.query ?? {}) as V2Request['query'] };
    await this.dispatch(ctx, req.method);
  }

  private async dispatch(ctx: V2Request, method: string): Promise<void> {
    const { route } = ctx;
    const read = method === 'GET' || method === 'HEAD';
    switch (route.kind) {
      case 'base':
        if (!read) break;
        await ctx.reply.header('content-type', 'application/json').send({});
        return;
      case 'catalog':
        if (method !== 'GET') break;
        return this.catalog.list(narrow(ctx, route));
      case 'tags':
        if (method !== 'GET') break;
        return this.tags.list(narrow(ctx, route));
      case 'manifest':
        if (read) return this.manifests.get(narrow(ctx, route));
        if (method === 'PUT') return this.manifests.put(narrow(ctx, route));
        if (method === 'DELETE') return this.manifests.delete(narrow(ctx, route));
        break;
      case 'blob':
        if (read) return this.blobs.get(narrow(ctx, route));
        if (method === 'DELETE') return this.blobs.delete(narrow(ctx, route));
        break;
      case 'uploads':
        if (method === 'POST') return this.uploads.start(narrow(ctx, route));
        break;
      case 'upload':
        if (method === 'GET') return this.uploads.status(narrow(ctx, route));
        if (method === 'PATCH') return this.uploads.patch(narrow(ctx, route));
        if (method === 'PUT') return this.uploads.complete(narrow(ctx, route));
        if (method === 'DELETE') return this.uploads.cancel(narrow(ctx, route));
        break;
      case 'referrers':
        if (method !== 'GET') break;
        return this.referrers.list(narrow(ctx, route));
    }
    throw new RegistryError('UNSUPPORTED', `${method} is not supported here`);
  }
}

function narrow<R extends V2Route>(ctx: V2Request, route: R): V2Request<R> {
  return { ...ctx, route };
}
