import { Injectable } from '@nestjs/common';
import { MediaTypes } from '@berth/oci';
import { queryParam, type RouteOf, type V2Request } from '../routing/v2-request';
import { ListingsService } from './listings.service';

/**
 * `GET /v2/<name>/referrers/<digest>?artifactType=` (distribution-spec end-12a/12b): always 200 with an OCI
 * index for a valid digest (empty `manifests` when nothing refers to it, even for an unknown repository);
 * with the filter, `OCI-Filters-Applied: artifactType`. The body is sent as a Buffer with exactly
 * `application/vnd.oci.image.index.v1+json` (no charset parameter: the conformance suite compares the header
 * value exactly). Not paginated: every referrer is in one response.
 */
@Injectable()
export class ReferrersHandler {
  constructor(private readonly listings: ListingsService) {}

  async list(ctx: V2Request<RouteOf<'referrers'>>): Promise<void> {
    const { registry, route, reply, query } = ctx;
    const filter = queryParam(query, 'artifactType') || undefined;
    const manifests = await this.listings.referrers(registry.id, route.name, route.digest, filter);
    if (filter !== undefined) reply.header('oci-filters-applied', 'artifactType');
    const body = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests };
    await reply.status(200).header('content-type', MediaTypes.OciIndex).send(Buffer.from(JSON.stringify(body)));
  }
}
