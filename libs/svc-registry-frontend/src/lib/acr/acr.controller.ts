import { All, Controller, Req, Res } from '@nestjs/common';
import { RegistryError, assertTag, nextLink } from '@berth/oci';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ListingsService } from '../manifests/listings.service';
import { ManifestDeletes } from '../manifests/manifest-deletes.service';
import { BodyTooLargeError, readCappedBody } from '../manifests/read-capped-body.util';
import { eventRequestInfo } from '../manifests/request-info.util';
import type { RegistryRef } from '../registry/registry-ref';
import { RegistryResolver } from '../registry/registry-resolver.service';
import { acrContentType } from './acr-body.middleware';
import { AcrManifests } from './acr-manifests.service';
import { parseAcrPage, parseAttributesPatch, parseOrderBy, type AcrOrderBy, type AttributesPatch } from './acr-params.util';
import { AcrRepositories } from './acr-repositories.service';
import { parseAcrRoute, type AcrRoute } from './acr-route.util';
import { AcrTags } from './acr-tags.service';

/** PATCH bodies are a handful of attributes; anything larger is refused unread. */
export const MAX_ACR_BODY_BYTES = 64 * 1024;

type Query = Record<string, string | string[] | undefined>;

interface AcrRequest<R extends AcrRoute = AcrRoute> {
  readonly registry: RegistryRef;
  readonly route: R;
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  readonly query: Query;
}

type RouteOf<K extends AcrRoute['kind']> = AcrRequest<Extract<AcrRoute, { kind: K }>>;

/**
 * The ACR data-plane API (`/acr/v1/...`, acr.md §2.2–2.4): catalog, repository, tag and manifest attributes
 * and deletes. Routing is by pattern (repository names contain slashes), the registry comes from the Host
 * header exactly as on /v2, `api-version` is accepted and ignored (the one shape served is 2021-07-01's).
 * Authorization happens before this controller (see auth/). Errors are AcrErrors (`{"errors":[…]}`), rendered
 * by the data plane's error filter.
 */
@Controller()
export class AcrController {
  constructor(
    private readonly registries: RegistryResolver,
    private readonly listings: ListingsService,
    private readonly repositories: AcrRepositories,
    private readonly tags: AcrTags,
    private readonly manifests: AcrManifests,
    private readonly deletes: ManifestDeletes,
  ) {}

  @All(['acr/v1', 'acr/v1/*'])
  async handle(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const route = parseAcrRoute(req.url.split('?')[0] ?? '');
    const registry = await this.registries.resolve(req.headers.host);
    const ctx: AcrRequest = { registry, route, req, reply, query: (req.query ?? {}) as Query };
    await this.dispatch(ctx, req.method);
  }

  private async dispatch(ctx: AcrRequest, method: string): Promise<void> {
    const { route } = ctx;
    const read = method === 'GET' || method === 'HEAD';
    switch (route.kind) {
      case 'catalog':
        if (read) return this.catalog({ ...ctx, route });
        break;
      case 'repository':
        if (read) return this.repository({ ...ctx, route });
        if (method === 'PATCH') return this.patchRepository({ ...ctx, route });
        if (method === 'DELETE') return this.deleteRepository({ ...ctx, route });
        break;
      case 'tags':
        if (read) return this.listTags({ ...ctx, route });
        break;
      case 'tag':
        if (read) return this.tag({ ...ctx, route });
        if (method === 'PATCH') return this.patchTag({ ...ctx, route });
        if (method === 'DELETE') return this.deleteTag({ ...ctx, route });
        break;
      case 'manifests':
        if (read) return this.listManifests({ ...ctx, route });
        break;
      case 'manifest':
        if (read) return this.manifest({ ...ctx, route });
        if (method === 'PATCH') return this.patchManifest({ ...ctx, route });
        if (method === 'DELETE') return this.deleteManifest({ ...ctx, route });
        break;
    }
    throw new RegistryError('UNSUPPORTED', `${method} is not supported here`);
  }

  /** `GET /acr/v1/_catalog`: listable repositories of this registry, byte order, `n`/`last` with `Link`. */
  private async catalog(ctx: RouteOf<'catalog'>): Promise<void> {
    const { n, last } = parseAcrPage(first(ctx.query, 'n'), first(ctx.query, 'last'));
    const page = await this.listings.catalog(ctx.registry.id, n, last);
    const lastItem = page.items[page.items.length - 1];
    if (page.more && lastItem !== undefined) ctx.reply.header('link', nextLink('/acr/v1/_catalog', n, lastItem));
    await json(ctx.reply, 200, { repositories: page.items });
  }

  private async repository(ctx: RouteOf<'repository'>): Promise<void> {
    const attrs = await this.repositories.get(ctx.registry.id, ctx.route.name);
    await json(ctx.reply, 200, { registry: ctx.registry.loginServer, ...attrs });
  }

  private async patchRepository(ctx: RouteOf<'repository'>): Promise<void> {
    const patch = await readPatch(ctx, false);
    const attrs = await this.repositories.patch(ctx.registry.id, ctx.route.name, patch);
    await json(ctx.reply, 200, { registry: ctx.registry.loginServer, ...attrs });
  }

  /** 202 `DeletedRepository` (acr.md §2.4). */
  private async deleteRepository(ctx: RouteOf<'repository'>): Promise<void> {
    const deleted = await this.deletes.deleteRepository(ctx.registry, ctx.route.name, eventRequestInfo(ctx.req));
    await json(ctx.reply, 202, deleted);
  }

  private async listTags(ctx: RouteOf<'tags'>): Promise<void> {
    const q = listQuery(ctx.query);
    const digest = first(ctx.query, 'digest');
    const page = await this.tags.list(ctx.registry.id, ctx.route.name, { ...q, ...(digest === undefined ? {} : { digest }) });
    linkNext(ctx, '_tags', q, page.more, page.tags.at(-1)?.name, digest ? { digest } : {});
    await inRepository(ctx, { tags: page.tags });
  }

  private async tag(ctx: RouteOf<'tag'>): Promise<void> {
    await inRepository(ctx, { tag: await this.tags.get(ctx.registry.id, ctx.route.name, ctx.route.tag) });
  }

  private async patchTag(ctx: RouteOf<'tag'>): Promise<void> {
    const patch = await readPatch(ctx, false);
    await inRepository(ctx, { tag: await this.tags.patch(ctx.registry.id, ctx.route.name, ctx.route.tag, patch) });
  }

  /** Untag (202): the manifest stays, untagged (acr.md §2.2). */
  private async deleteTag(ctx: RouteOf<'tag'>): Promise<void> {
    await this.deletes.untag(ctx.registry, ctx.route.name, assertTag(ctx.route.tag));
    await empty(ctx.reply, 202);
  }

  private async listManifests(ctx: RouteOf<'manifests'>): Promise<void> {
    const q = listQuery(ctx.query);
    const page = await this.manifests.list(ctx.registry.id, ctx.route.name, q);
    linkNext(ctx, '_manifests', q, page.more, page.manifests.at(-1)?.digest, {});
    await inRepository(ctx, { manifests: page.manifests });
  }

  private async manifest(ctx: RouteOf<'manifest'>): Promise<void> {
    await inRepository(ctx, { manifest: await this.manifests.get(ctx.registry.id, ctx.route.name, ctx.route.reference) });
  }

  private async patchManifest(ctx: RouteOf<'manifest'>): Promise<void> {
    const patch = await readPatch(ctx, true);
    await inRepository(ctx, { manifest: await this.manifests.patch(ctx.registry.id, ctx.route.name, ctx.route.reference, patch) });
  }

  /** 202; a tag reference deletes the manifest it names with all its tags (acr.md §8.9). */
  private async deleteManifest(ctx: RouteOf<'manifest'>): Promise<void> {
    await this.deletes.deleteManifest(ctx.registry, ctx.route.name, ctx.route.reference, eventRequestInfo(ctx.req));
    await empty(ctx.reply, 202);
  }
}

/** `n`, `last` and `orderby` of a `_tags` or `_manifests` listing. */
function listQuery(q: Query): { n: number; last?: string; orderBy: AcrOrderBy } {
  const { n, last } = parseAcrPage(first(q, 'n'), first(q, 'last'));
  return { n, orderBy: parseOrderBy(first(q, 'orderby')), ...(last === undefined ? {} : { last }) };
}

/** The `Link` to the next page when more remain, keeping `orderby` and any filter (acr.md §2.3). */
function linkNext(
  ctx: AcrRequest<{ kind: 'tags' | 'manifests'; name: string }>,
  suffix: '_tags' | '_manifests',
  q: { n: number; orderBy: AcrOrderBy },
  more: boolean,
  lastKey: string | undefined,
  filter: Record<string, string>,
): void {
  if (!more || lastKey === undefined) return;
  const extra = { ...(q.orderBy === 'none' ? {} : { orderby: q.orderBy }), ...filter };
  ctx.reply.header('link', nextLink(`/acr/v1/${ctx.route.name}/${suffix}`, q.n, lastKey, extra));
}

/** 200 with a body about something in the addressed repository (`registry`, `imageName`, then the rest). */
async function inRepository(ctx: AcrRequest<Extract<AcrRoute, { name: string }>>, body: Record<string, unknown>): Promise<void> {
  await json(ctx.reply, 200, { registry: ctx.registry.loginServer, imageName: ctx.route.name, ...body });
}

function first(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and validates a PATCH body (at most MAX_ACR_BODY_BYTES; larger is 413 and the connection closes). */
async function readPatch(ctx: AcrRequest, quarantine: boolean): Promise<AttributesPatch> {
  const declared = ctx.req.headers['content-length'];
  let body: Buffer;
  try {
    body = await readCappedBody(ctx.req.raw, MAX_ACR_BODY_BYTES, declared === undefined ? undefined : Number(declared));
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      ctx.reply.header('connection', 'close');
      throw new RegistryError('SIZE_INVALID', `the body exceeds ${MAX_ACR_BODY_BYTES} bytes`, { size: err.size }, 413);
    }
    throw err;
  }
  return parseAttributesPatch(body, acrContentType(ctx.req.raw), quarantine);
}

async function json(reply: FastifyReply, status: number, body: unknown): Promise<void> {
  await reply.status(status).header('content-type', 'application/json; charset=utf-8').send(Buffer.from(JSON.stringify(body)));
}

async function empty(reply: FastifyReply, status: number): Promise<void> {
  await reply.status(status).header('content-length', '0').send();
}
