import { Inject, Injectable } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { parseDigest, parseRangeHeader, RegistryError } from '@berth/oci';
import { BERTH_CONFIG } from '@berth/platform';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import type { RouteOf, V2Request } from '../routing/v2-request';
import { mapErrors } from './blob-errors.util';
import { BlobLinks } from './blob-links.service';

/** Lifetime of a presigned pull URL: long enough for a slow layer download to start, short enough to not leak. */
export const PRESIGN_SECONDS = 20 * 60;

/**
 * `GET/HEAD/DELETE /v2/<name>/blobs/<digest>` (distribution-spec end-2, end-10). A repository only sees the
 * blobs linked to it in its registry; everything else, including a missing repository, is BLOB_UNKNOWN.
 */
@Injectable()
export class BlobsHandler {
  constructor(
    private readonly links: BlobLinks,
    @Inject(BLOB_STORES) private readonly stores: BlobStores,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {}

  /**
   * HEAD: 200 with the headers and no body. GET: a 307 to a presigned URL (S3 with BERTH_BLOB_PULL=redirect),
   * otherwise the bytes, whole (200) or one `Range` (206; 416 with `Content-Range: bytes *\/<size>`).
   */
  async get(ctx: V2Request<RouteOf<'blob'>>): Promise<void> {
    const { registry, route, req, reply } = ctx;
    const digest = parseDigest(route.digest).value;
    const blob = await this.links.findLinked(registry.id, route.name, digest, registry.region, registry.location);
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    const store = this.stores.get(blob.region);
    const key = { registryId: registry.id, digest };

    if (req.method === 'HEAD') {
      await reply
        .status(200)
        .headers(blobHeaders(digest))
        .header('Content-Length', String(blob.size))
        .send();
      return;
    }

    if (this.config.storage.driver === 's3' && this.config.storage.pull === 'redirect') {
      const url = await mapErrors(store.presignGet(key, { expiresInSeconds: PRESIGN_SECONDS }));
      if (url) {
        // The client re-sends its Range header to the storage URL, which honours it.
        await reply.status(307).header('Location', url).header('Docker-Content-Digest', digest).header('Content-Length', '0').send();
        return;
      }
    }

    const range = parseRangeHeader(header(req.headers.range), blob.size);
    if (range.kind === 'unsatisfiable') {
      reply.header('Content-Range', range.contentRange);
      throw new RegistryError('RANGE_INVALID', 'requested range not satisfiable', { size: blob.size });
    }
    if (range.kind === 'partial') {
      const body = await mapErrors(store.open(key, { start: range.start, end: range.end }));
      await reply
        .status(206)
        .headers(blobHeaders(digest))
        .header('Content-Range', range.contentRange)
        .header('Content-Length', String(range.length))
        .send(body);
      return;
    }
    if (blob.size === 0) {
      await reply.status(200).headers(blobHeaders(digest)).header('Content-Length', '0').send(Buffer.alloc(0));
      return;
    }
    const body = await mapErrors(store.open(key));
    await reply.status(200).headers(blobHeaders(digest)).header('Content-Length', String(blob.size)).send(body);
  }

  /**
   * Removes the repository's link to the blob → 202. The bytes stay: other repositories and manifests may still
   * reference them, and garbage collection (a later issue) removes unreferenced content. Unknown → BLOB_UNKNOWN.
   */
  async delete(ctx: V2Request<RouteOf<'blob'>>): Promise<void> {
    const { registry, route, reply } = ctx;
    const digest = parseDigest(route.digest).value;
    if (!(await this.links.unlink(registry.id, route.name, digest))) {
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    }
    await reply.status(202).header('Docker-Content-Digest', digest).header('Content-Length', '0').send();
  }
}

function blobHeaders(digest: string): Record<string, string> {
  return {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    Etag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
