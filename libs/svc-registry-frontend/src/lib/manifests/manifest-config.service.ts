import { Inject, Injectable } from '@nestjs/common';
import { type Descriptor, MediaTypes } from '@berth/oci';
export { chartIdentity, imagePlatform, type ChartIdentity, type ImagePlatform } from '@berth/oci';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import { readCappedBody } from './read-capped-body.util';

/** Config blobs larger than this are not read for metadata (real image and chart configs are a few KiB). */
export const MAX_CONFIG_READ_BYTES = 1024 * 1024;

/** Config media types whose JSON carries something ACR lists: the platform of an image, the name of a chart. */
const READABLE_CONFIGS: ReadonlySet<string> = new Set([MediaTypes.OciConfig, MediaTypes.DockerConfig, MediaTypes.HelmConfig]);

/**
 * Reads the small JSON config blob of a manifest for the metadata ACR exposes but the manifest itself does
 * not carry (image platform, chart name and version). Best effort: a config that is absent, too large, not
 * JSON or unreadable (storage down) yields undefined, and the caller stores nulls instead of failing a push.
 * The caller must only use the result for a manifest whose config it has verified is linked to the
 * repository (the push transaction does).
 */
@Injectable()
export class ManifestConfigReader {
  constructor(@Inject(BLOB_STORES) private readonly stores: BlobStores) {}

  async read(registryId: string, region: string, config: Descriptor): Promise<Record<string, unknown> | undefined> {
    if (!READABLE_CONFIGS.has(config.mediaType) || config.size > MAX_CONFIG_READ_BYTES) return undefined;
    try {
      const stream = await this.stores.get(region).open({ registryId, digest: config.digest });
      const value: unknown = JSON.parse((await readCappedBody(stream, MAX_CONFIG_READ_BYTES)).toString('utf8'));
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}
