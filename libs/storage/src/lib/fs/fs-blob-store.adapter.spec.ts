import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { DigestMismatchError, StorageArgumentError, StorageUnavailableError } from '../blob-store.errors';
import { blobStoreContract } from '../testing/blob-store.contract';
import { createFsBlobStore, FsBlobStore } from './fs-blob-store.adapter';

blobStoreContract('FsBlobStore', async () => {
  const rootDir = await mkdtemp(path.join(tmpdir(), 'berth-fs-blob-store-'));
  return {
    store: await createFsBlobStore({ rootDir }),
    reopen: () => createFsBlobStore({ rootDir }),
    presigns: false,
    teardown: () => rm(rootDir, { recursive: true, force: true }),
  };
});

describe(FsBlobStore.name, () => {
  let rootDir: string;

  beforeEach(async () => {
    rootDir = await mkdtemp(path.join(tmpdir(), 'berth-fs-blob-store-'));
  });

  afterEach(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  it('should require a rootDir', () => {
    expect(() => new FsBlobStore({ rootDir: '' })).toThrow(StorageArgumentError);
  });

  it('should create a missing root folder in ensureReady', async () => {
    const store = await createFsBlobStore({ rootDir: path.join(rootDir, 'a', 'b') });
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it('should fail ping while the root is missing or not a folder, and recover without being recreated', async () => {
    const root = path.join(rootDir, 'region');
    const store = await createFsBlobStore({ rootDir: root });
    await rm(root, { recursive: true });
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await writeFile(root, 'not a folder');
    await expect(store.ping()).rejects.toThrow(/filesystem blob storage .* unavailable: not a directory/);
    await rm(root);
    await store.ensureReady();
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it('should lay blobs out as registries/<id>/blobs/<alg>/<2 hex>/<hex>', async () => {
    const store = await createFsBlobStore({ rootDir });
    const digest = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'; // "hello"
    await store.putBlob('reg1', Readable.from([Buffer.from('hello')]), digest);
    const file = path.join(rootDir, 'registries', 'reg1', 'blobs', 'sha256', '2c', digest.slice(7));
    await expect(import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8'))).resolves.toBe('hello');
    await store.close();
  });

  it('should verify with the running hash when it saw every byte and re-read the stored bytes otherwise', async () => {
    // Shown by changing the stored bytes behind the store's back (same length): the fast path does not notice
    // (it never re-reads), the slow path (a fresh instance, as after a restart) does.
    const store = await createFsBlobStore({ rootDir });
    const content = Buffer.from('original bytes');
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const tamper = (uploadId: string): Promise<void> =>
      writeFile(path.join(rootDir, 'registries', 'reg', 'uploads', uploadId, 'data'), 'tampered bytes');

    const fast = await store.beginUpload('reg');
    await store.appendUpload('reg', fast.uploadId, Readable.from([content]), 0);
    await tamper(fast.uploadId);
    await expect(store.commitUpload('reg', fast.uploadId, digest)).resolves.toEqual({ digest, size: content.length });

    const slow = await store.beginUpload('reg');
    await store.appendUpload('reg', slow.uploadId, Readable.from([content]), 0);
    await tamper(slow.uploadId);
    const restarted = await createFsBlobStore({ rootDir });
    await expect(restarted.commitUpload('reg', slow.uploadId, digest)).rejects.toBeInstanceOf(DigestMismatchError);
    await Promise.all([store.close(), restarted.close()]);
  });
});
