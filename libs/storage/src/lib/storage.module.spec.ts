import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StorageArgumentError, StorageUnavailableError } from './blob-store.errors';
import type { BlobStore } from './blob-store.port';
import { BlobStores, createBlobStores, type StorageConfig } from './blob-stores';
import { StorageModule } from './storage.module';
import { BLOB_STORE, BLOB_STORES } from './storage.tokens';

describe(StorageModule.name, () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'berth-storage-module-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const twoRegions = (): StorageConfig => ({
    regions: [
      { name: 'eastus', driver: 'fs', fs: { rootDir: path.join(root, 'eastus') } },
      { name: 'westeurope', driver: 'fs', fs: { rootDir: path.join(root, 'westeurope') } },
    ],
  });

  it('should provide every region, the home store, and close them all on application shutdown', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [StorageModule.forRoot(twoRegions())] }).compile();
    const stores = moduleRef.get<BlobStores>(BLOB_STORES);
    expect(stores.regions).toEqual(['eastus', 'westeurope']);
    expect(stores.home).toBe('eastus');
    expect(moduleRef.get<BlobStore>(BLOB_STORE)).toBe(stores.get('eastus'));
    expect(() => stores.get('southeastasia')).toThrow(StorageArgumentError);
    await expect(stores.ping()).resolves.toBeUndefined();

    await moduleRef.close();
    await expect(stores.get('eastus').ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(stores.get('westeurope').ping()).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('should build from an injected configuration with forRootAsync', async () => {
    const CONFIG = Symbol('CONFIG');
    @Module({ providers: [{ provide: CONFIG, useValue: twoRegions() }], exports: [CONFIG] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        StorageModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: StorageConfig) => config,
        }),
      ],
    }).compile();
    expect(moduleRef.get<BlobStores>(BLOB_STORES).regions).toEqual(['eastus', 'westeurope']);
    await moduleRef.close();
  });

  it('should fail start-up naming the region whose store cannot be built', async () => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const config: StorageConfig = {
      regions: [{ name: 'eastus', driver: 'fs', fs: { rootDir: path.join(file, 'sub') } }],
    };
    await expect(Test.createTestingModule({ imports: [StorageModule.forRoot(config)] }).compile()).rejects.toThrow(
      /storage region "eastus"/,
    );
  });
});

describe(BlobStores.name, () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'berth-blob-stores-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('should name the failing regions when a ping fails', async () => {
    const stores = await createBlobStores({
      regions: [
        { name: 'eastus', driver: 'fs', fs: { rootDir: path.join(root, 'eastus') } },
        { name: 'westeurope', driver: 'fs', fs: { rootDir: path.join(root, 'westeurope') } },
      ],
    });
    await rm(path.join(root, 'westeurope'), { recursive: true });
    const err = await stores.ping().catch((error: unknown) => error);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toMatch(/westeurope: /);
    expect((err as Error).message).not.toMatch(/eastus: /);
    await stores.close();
    await stores.close();
  });

  it('should reject configurations without regions, with duplicate names, or without driver options', async () => {
    await expect(createBlobStores({ regions: [] })).rejects.toBeInstanceOf(StorageArgumentError);
    const fs = { rootDir: path.join(root, 'x') };
    await expect(
      createBlobStores({
        regions: [
          { name: 'a', driver: 'fs', fs },
          { name: 'a', driver: 'fs', fs },
        ],
      }),
    ).rejects.toThrow(/configured twice/);
    await expect(createBlobStores({ regions: [{ name: 'a', driver: 's3' }] })).rejects.toThrow(/no s3 options/);
    await expect(createBlobStores({ regions: [{ name: 'a', driver: 'fs' }] })).rejects.toThrow(/no fs options/);
    await expect(createBlobStores({ regions: [{ name: '', driver: 'fs', fs }] })).rejects.toThrow(/needs a name/);
  });
});
