import { Injectable } from '@nestjs/common';
import { nextLink, parsePageParams } from '@berth/oci';
import { queryParam, type RouteOf, type V2Request } from '../routing/v2-request';
import { ListingsService } from './listings.service';

/**
 * `GET /v2/<name>/tags/list?n=&last=` (distribution-spec end-8a/8b): `{"name","tags"}` in lexical order; `n`
 * above the maximum is lowered to it (as distribution does) and a `Link: <…>; rel="next"` header is sent
 * whenever more tags remain, so clients that follow Link always see every tag.
 */
@Injectable()
export class TagsHandler {
  constructor(private readonly listings: ListingsService) {}

  async list(ctx: V2Request<RouteOf<'tags'>>): Promise<void> {
    const { registry, route, reply, query } = ctx;
    const { n, last } = parsePageParams(queryParam(query, 'n'), queryParam(query, 'last'), { clamp: true });
    const page = await this.listings.tags(registry.id, route.name, n, last);
    const lastItem = page.items[page.items.length - 1];
    if (page.more && lastItem !== undefined) {
      reply.header('link', nextLink(`/v2/${route.name}/tags/list`, page.items.length, lastItem));
    }
    await reply
      .status(200)
      .header('content-type', 'application/json')
      .send(Buffer.from(JSON.stringify({ name: route.name, tags: page.items })));
  }
}
