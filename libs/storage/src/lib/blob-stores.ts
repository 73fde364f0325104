import { StorageArgumentError, StorageError, StorageUnavailableError } from './blob-store.errors';
import type { BlobStore } from './blob-store.port';
import { createFsBlobStore, type FsBlobStoreOptions } from './fs/fs-blob-store.adapter';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3/s3-blob-store.adapter';

/** One region's storage: a name plus the adapter that serves it and that adapter's options. */
export interface StorageRegionConfig {
  readonly name: string;
  readonly driver: 'fs' | 's3';
  readonly fs?: FsBlobStoreOptions;
  readonly s3?: S3BlobStoreOptions;
}

export interface StorageConfig {
  /** The regions this installation serves; the first is the home of new registries. At least one, names unique. */
  readonly regions: readonly StorageRegionConfig[];
}

/**
 * The blob stores of every region this process serves, by region name. The readiness check pings them all.
 */
export class BlobStores {
  private readonly stores: ReadonlyMap<string, BlobStore>;

  constructor(stores: ReadonlyArray<readonly [region: string, store: BlobStore]>) {
    if (stores.length === 0) throw new StorageArgumentError('storage: at least one region is required');
    this.stores = new Map(stores);
    if (this.stores.size !== stores.length) throw new StorageArgumentError('storage: region names must be unique');
    this.regions = stores.map(([region]) => region);
    this.home = this.regions[0] ?? '';
  }

  /** Region names in configuration order. */
  readonly regions: readonly string[];

  /** The first configured region: where new registries live unless a request names another. */
  readonly home: string;

  /** The store of `region`; throws StorageArgumentError for a region this process does not serve. */
  get(region: string): BlobStore {
    const store = this.stores.get(region);
    if (!store)
      throw new StorageArgumentError(`storage: unknown region "${region}"`, { region, regions: this.regions });
    return store;
  }

  /**
   * Pings every region's store in parallel. Resolves when all answer; otherwise rejects with a
   * StorageUnavailableError naming each failing region. Settles within about 2 seconds.
   */
  async ping(): Promise<void> {
    const results = await Promise.allSettled(this.regions.map((region) => this.get(region).ping()));
    const failures = results.flatMap((result, index) =>
      result.status === 'rejected' ? [`${this.regions[index]}: ${errorMessage(result.reason)}`] : [],
    );
    if (failures.length > 0) {
      throw new StorageUnavailableError('blob storage', failures.join('; '), {
        cause: results.find((result): result is PromiseRejectedResult => result.status === 'rejected')?.reason,
      });
    }
  }

  /** Closes every store. Idempotent. */
  async close(): Promise<void> {
    await Promise.allSettled(this.regions.map((region) => this.get(region).close()));
  }
}

/**
 * Validates the configuration and builds every region's store (creating folders and buckets when missing).
 * Rejects with the region's name when one cannot be reached, after closing the ones already built.
 */
export async function createBlobStores(config: StorageConfig): Promise<BlobStores> {
  const regions = config?.regions ?? [];
  if (regions.length === 0) throw new StorageArgumentError('storage: at least one region is required');
  const names = new Set<string>();
  for (const region of regions) {
    if (typeof region.name !== 'string' || region.name.trim() === '') {
      throw new StorageArgumentError('storage: every region needs a name');
    }
    if (names.has(region.name)) throw new StorageArgumentError(`storage: region "${region.name}" is configured twice`);
    names.add(region.name);
  }
  const built: Array<readonly [string, BlobStore]> = [];
  try {
    for (const region of regions) built.push([region.name, await createRegionStore(region)]);
  } catch (err) {
    await Promise.allSettled(built.map(([, store]) => store.close()));
    throw err;
  }
  return new BlobStores(built);
}

async function createRegionStore(region: StorageRegionConfig): Promise<BlobStore> {
  try {
    switch (region.driver) {
      case 'fs':
        if (!region.fs)
          throw new StorageArgumentError(`storage: region "${region.name}" uses driver fs but has no fs options`);
        return await createFsBlobStore(region.fs);
      case 's3':
        if (!region.s3)
          throw new StorageArgumentError(`storage: region "${region.name}" uses driver s3 but has no s3 options`);
        return await createS3BlobStore(region.s3);
      default:
        return assertNever(region.driver, region.name);
    }
  } catch (err) {
    if (err instanceof StorageError) {
      // Keep the type (StorageUnavailableError, StorageArgumentError) for callers; add the region to the text.
      if (!err.message.includes(`"${region.name}"`)) err.message = `storage region "${region.name}": ${err.message}`;
      throw err;
    }
    throw new Error(`storage region "${region.name}": ${errorMessage(err)}`, { cause: err });
  }
}

function assertNever(driver: never, region: string): never {
  throw new StorageArgumentError(`storage: region "${region}" has unknown driver "${String(driver)}" (use fs or s3)`);
}

function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}
