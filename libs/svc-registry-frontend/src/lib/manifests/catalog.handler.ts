import { Injectable } from '@nestjs/common';
import { nextLink, parsePageParams } from '@berth/oci';
import { queryParam, type RouteOf, type V2Request } from '../routing/v2-request';
import { ListingsService } from './listings.service';

/**
 * `GET /v2/_catalog?n=&last=` (Docker registry API): `{"repositories":[…]}` of the registry the request
 * addresses only, lexical, paginated with `Link: <…>; rel="next"`. An `n` above the maximum is
 * PAGINATION_NUMBER_INVALID (400), as distribution's catalog.
 */
@Injectable()
export class CatalogHandler {
  constructor(private readonly listings: ListingsService) {}

  async list(ctx: V2Request<RouteOf<'catalog'>>): Promise<void> {
    const { registry, reply, query } = ctx;
    const { n, last } = parsePageParams(queryParam(query, 'n'), queryParam(query, 'last'));
    const page = await this.listings.catalog(registry.id, n, last);
    const lastItem = page.items[page.items.length - 1];
    if (page.more && lastItem !== undefined) {
      reply.header('link', nextLink('/v2/_catalog', page.items.length, lastItem));
    }
    await reply
      .status(200)
      .header('content-type', 'application/json')
      .send(Buffer.from(JSON.stringify({ repositories: page.items })));
  }
}
