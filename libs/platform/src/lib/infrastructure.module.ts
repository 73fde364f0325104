import { type DynamicModule, Global, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { BerthConfig } from '@berth/config';
import { DbHealth, DbModule } from '@berth/db';
import { BLOB_STORES, StorageModule, type BlobStores, type StorageRegionConfig } from '@berth/storage';
import { EVENT_BUS, EventsModule, type EventBus } from '@berth/events';
import { BerthCacheModule, CACHE_STORE, type CacheStore } from '@berth/cache';
import path from 'node:path';
import type { Logger } from 'pino';
import { HealthRegistry } from './health.registry';
import type { InfraNeed } from './infra-needs';
import { PlatformModule as PlatformModuleRef } from './platform.module';

const INFRA_NEEDS = Symbol('INFRA_NEEDS');

/** The dependency names /readyz reports, by need and driver. */
export function checkName(need: InfraNeed, config: BerthConfig): string {
  switch (need) {
    case 'database':
      return 'postgres';
    case 'blobs':
      return config.storage.driver === 's3' ? 's3' : 'filesystem';
    case 'events':
      return config.bus.driver === 'kafka' ? 'kafka' : 'in-process-bus';
    case 'cache':
      return config.cache.driver === 'redis' ? 'redis' : 'memory-cache';
  }
}

/** Registers one readiness check per infrastructure piece this process created. */
@Injectable()
class InfrastructureHealth implements OnModuleInit {
  constructor(
    private readonly registry: HealthRegistry,
    private readonly moduleRef: ModuleRef,
    @Inject(INFRA_NEEDS) private readonly needs: { list: readonly InfraNeed[]; config: BerthConfig },
  ) {}

  onModuleInit(): void {
    const { list, config } = this.needs;
    for (const need of list) {
      const name = checkName(need, config);
      switch (need) {
        case 'database': {
          const db = this.moduleRef.get(DbHealth, { strict: false });
          this.registry.register(name, () => db.ping());
          break;
        }
        case 'blobs': {
          const stores = this.moduleRef.get<BlobStores>(BLOB_STORES, { strict: false });
          this.registry.register(name, () => stores.ping());
          break;
        }
        case 'events': {
          const bus = this.moduleRef.get<EventBus>(EVENT_BUS, { strict: false });
          this.registry.register(name, () => bus.ping());
          break;
        }
        case 'cache': {
          const cache = this.moduleRef.get<CacheStore>(CACHE_STORE, { strict: false });
          this.registry.register(name, () => cache.ping());
          break;
        }
      }
    }
  }
}

/** Each region's blob storage: a folder per region, or a bucket per region. */
export function storageRegions(config: BerthConfig): StorageRegionConfig[] {
  const { storage } = config;
  return config.regions.map((name) =>
    storage.driver === 's3' && storage.s3
      ? {
          name,
          driver: 's3' as const,
          s3: {
            endpoint: storage.s3.endpoint,
            accessKey: storage.s3.accessKey,
            secretKey: storage.s3.secretKey,
            region: storage.s3.region,
            bucket: `${storage.s3.bucketPrefix}${name}`,
            publicEndpoint: storage.s3.publicEndpoint,
          },
        }
      : { name, driver: 'fs' as const, fs: { rootDir: path.join(storage.fsRoot, name) } },
  );
}

/**
 * The shared infrastructure of one process, built once from config: only what the process's services
 * need. Global, so service modules inject DATA_SOURCE, BLOB_STORES, EVENT_BUS and CACHE_STORE directly.
 */
@Global()
@Module({})
export class InfrastructureModule {
  static forRoot(config: BerthConfig, needs: readonly InfraNeed[], logger: Logger): DynamicModule {
    const imports: DynamicModule[] = [];
    const list = [...new Set(needs)];
    for (const need of list) {
      switch (need) {
        case 'database': {
          const log = logger.child({ component: 'db' });
          imports.push(
            DbModule.forRoot({
              url: String(config.database.url),
              applicationName: `berth-${config.mode}`,
              poolSize: config.database.poolSize,
              // Also how long a request waits for a free pooled connection (pg has one limit for both): long enough
              // for a burst to queue, short enough that a request fails (503) rather than hangs while Postgres is down.
              connectTimeoutMs: 5_000,
              // The embedded PostgreSQL serves only this process: open the whole pool at start, not in the first burst.
              warmConnections: config.database.embedded ? config.database.poolSize : 0,
              runMigrations: config.database.migrate,
              logger: {
                debug: (m) => log.debug(m),
                info: (m) => log.info(m),
                warn: (m) => log.warn(m),
                error: (m) => log.error(m),
              },
            }),
          );
          break;
        }
        case 'blobs':
          imports.push(StorageModule.forRoot({ regions: storageRegions(config) }));
          break;
        case 'events':
          imports.push(
            config.bus.driver === 'kafka'
              ? EventsModule.forRoot({
                  driver: 'kafka',
                  kafka: {
                    brokers: config.bus.brokers,
                    clientId: 'berth',
                    namespace: config.bus.namespace,
                    logger: logger.child({ component: 'kafka' }),
                  },
                })
              : EventsModule.forRoot({ driver: 'inprocess' }),
          );
          break;
        case 'cache':
          imports.push(
            config.cache.driver === 'redis'
              ? BerthCacheModule.forRoot({
                  driver: 'redis',
                  redis: {
                    url: String(config.cache.redisUrl),
                    keyPrefix: redisKeyPrefix(config.cache.namespace),
                    logger: logger.child({ component: 'redis' }),
                  },
                })
              : BerthCacheModule.forRoot({ driver: 'memory' }),
          );
          break;
      }
    }
    return {
      module: InfrastructureModule,
      imports,
      providers: [{ provide: INFRA_NEEDS, useValue: { list, config } }, InfrastructureHealth],
      exports: imports,
    };
  }
}

/** The root module of a process: platform, the infrastructure its services need, and the services. */
export function serviceRoot(
  config: BerthConfig,
  logger: Logger,
  spec: { needs: readonly InfraNeed[]; modules: Array<DynamicModule | (new (...args: never[]) => unknown)> },
): DynamicModule {
  @Module({})
  class BerthRootModule {}
  return {
    module: BerthRootModule,
    imports: [
      PlatformModuleRef.forRoot(config, logger),
      InfrastructureModule.forRoot(config, spec.needs, logger),
      ...spec.modules,
    ],
  };
}

/** Every Redis key of an installation starts with this: `berth:`, or `<BERTH_REDIS_NAMESPACE>:berth:`. */
export function redisKeyPrefix(namespace: string): string {
  return namespace ? `${namespace}:berth:` : 'berth:';
}
