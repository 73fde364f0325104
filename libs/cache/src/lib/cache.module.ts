import { Inject, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { MemoryCacheBackend } from './adapters/memory/memory-cache-backend';
import { MemoryCacheStore } from './adapters/memory/memory-cache-store.adapter';
import type { MemoryCacheStoreOptions } from './adapters/memory/memory-cache-store.adapter';
import { RedisCacheStore } from './adapters/redis/redis-cache-store.adapter';
import type { RedisCacheStoreOptions } from './adapters/redis/redis-cache-store.adapter';
import { InvalidCacheArgumentError } from './errors/invalid-cache-argument.error';
import { CACHE_STORE } from './cache-store.port';
import type { CacheStore } from './cache-store.port';

export type CacheModuleOptions =
  | { driver: 'redis'; redis: RedisCacheStoreOptions }
  /** The store lives in the process-wide shared backend unless `memory.backend` names another. */
  | { driver: 'memory'; memory?: Pick<MemoryCacheStoreOptions, 'keyPrefix' | 'backend'> };

/**
 * Every `driver: 'memory'` store without its own backend shares this one, as every Redis client of a
 * deployment shares one server: in the embedded host, services that import BerthCacheModule separately
 * still count into the same windows and contend for the same locks. Created on first use.
 */
let processBackend: MemoryCacheBackend | undefined;

/** Throws InvalidCacheArgumentError for an inconsistent configuration (at composition, not first use). */
export function assertCacheModuleOptions(options: CacheModuleOptions): void {
  switch (options.driver) {
    case 'redis':
      if (!options.redis?.url) throw new InvalidCacheArgumentError("BerthCacheModule: driver 'redis' needs redis.url");
      return;
    case 'memory':
      return;
    default: {
      const driver: unknown = (options as { driver: unknown }).driver;
      throw new InvalidCacheArgumentError(`BerthCacheModule: unknown driver ${JSON.stringify(driver)}`);
    }
  }
}

/** Builds the adapter `options` select. */
export function createCacheStore(options: CacheModuleOptions): CacheStore {
  assertCacheModuleOptions(options);
  if (options.driver === 'redis') return new RedisCacheStore(options.redis);
  return new MemoryCacheStore({
    keyPrefix: options.memory?.keyPrefix,
    backend: options.memory?.backend ?? (processBackend ??= new MemoryCacheBackend()),
  });
}

/**
 * Provides the configured CacheStore under `CACHE_STORE` and closes it on application shutdown. (Named
 * BerthCacheModule so it cannot be confused with @nestjs/cache-manager's CacheModule.)
 *
 * The store is created when the module is instantiated, so merely composing the module opens no connection.
 */
@Module({})
export class BerthCacheModule implements OnApplicationShutdown {
  constructor(@Inject(CACHE_STORE) private readonly store: CacheStore) {}

  static forRoot(options: CacheModuleOptions): DynamicModule {
    assertCacheModuleOptions(options);
    return {
      module: BerthCacheModule,
      providers: [{ provide: CACHE_STORE, useFactory: (): CacheStore => createCacheStore(options) }],
      exports: [CACHE_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
