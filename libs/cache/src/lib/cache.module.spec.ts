import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MemoryCacheStore } from './adapters/memory/memory-cache-store.adapter';
import { BerthCacheModule } from './cache.module';
import type { CacheModuleOptions } from './cache.module';
import { CACHE_STORE } from './cache-store.port';
import type { CacheStore } from './cache-store.port';
import { CacheClosedError } from './errors/cache-closed.error';
import { InvalidCacheArgumentError } from './errors/invalid-cache-argument.error';

@Injectable()
class Holder {
  constructor(@Inject(CACHE_STORE) readonly store: CacheStore) {}
}

@Module({ imports: [BerthCacheModule.forRoot({ driver: 'memory' })], providers: [Holder], exports: [Holder] })
class ServiceA {}

@Injectable()
class OtherHolder {
  constructor(@Inject(CACHE_STORE) readonly store: CacheStore) {}
}

@Module({ imports: [BerthCacheModule.forRoot({ driver: 'memory' })], providers: [OtherHolder], exports: [OtherHolder] })
class ServiceB {}

describe(BerthCacheModule.name, () => {
  it('should provide the memory store under CACHE_STORE and close it on application shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BerthCacheModule.forRoot({ driver: 'memory' })],
    }).compile();
    const app = await moduleRef.init();
    const store = app.get<CacheStore>(CACHE_STORE);
    expect(store).toBeInstanceOf(MemoryCacheStore);
    await expect(store.ping()).resolves.toBeUndefined();
    await app.close();
    await expect(store.ping()).rejects.toBeInstanceOf(CacheClosedError);
  });

  it('should let services that each import forRoot share counters, as Redis clients do', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ServiceA, ServiceB] }).compile();
    const app = await moduleRef.init();
    const a = app.get(Holder).store;
    const b = app.get(OtherHolder).store;
    const key = `module-spec:${Date.now()}`;
    await a.incrementWindow(key, 2, 60);
    await expect(b.incrementWindow(key, 1, 60)).resolves.toMatchObject({ count: 3 });
    await app.close();
  });

  it('should reject an inconsistent configuration when composed', () => {
    expect(() => BerthCacheModule.forRoot({ driver: 'redis' } as unknown as CacheModuleOptions)).toThrow(
      InvalidCacheArgumentError,
    );
    expect(() => BerthCacheModule.forRoot({ driver: 'disk' } as unknown as CacheModuleOptions)).toThrow(
      /unknown driver "disk"/,
    );
  });
});
