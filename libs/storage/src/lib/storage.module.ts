import {
  Inject,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { BlobStores, createBlobStores, type StorageConfig } from './blob-stores';
import type { BlobStore } from './blob-store.port';
import { BLOB_STORE, BLOB_STORES, STORAGE_CONFIG } from './storage.tokens';

export interface StorageModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly useFactory: (...args: never[]) => StorageConfig | Promise<StorageConfig>;
  readonly inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

/**
 * Blob storage for a Nest application: `BLOB_STORES` (every region) and `BLOB_STORE` (the home region).
 * Global, so feature modules inject the tokens without importing it. Start-up fails, naming the region,
 * when a store cannot be built (bad options, S3 unreachable, bucket cannot be created); the stores are
 * closed on application shutdown.
 */
@Module({})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(BLOB_STORES) private readonly stores: BlobStores) {}

  static forRoot(config: StorageConfig): DynamicModule {
    return StorageModule.forRootAsync({ useFactory: () => config });
  }

  static forRootAsync(options: StorageModuleAsyncOptions): DynamicModule {
    return {
      module: StorageModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: STORAGE_CONFIG, useFactory: options.useFactory, inject: options.inject ?? [] },
        {
          provide: BLOB_STORES,
          useFactory: (config: StorageConfig) => createBlobStores(config),
          inject: [STORAGE_CONFIG],
        },
        {
          provide: BLOB_STORE,
          useFactory: (stores: BlobStores): BlobStore => stores.get(stores.home),
          inject: [BLOB_STORES],
        },
      ],
      exports: [BLOB_STORES, BLOB_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stores.close();
  }
}
