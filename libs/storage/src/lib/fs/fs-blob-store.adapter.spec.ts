import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { DigestMismatchError, StorageArgumentError, StorageUnavailableError, UploadNotFoundError } from '../blob-store.errors';
import { blobStoreContract } from '../testing/blob-store.contract';
import { probeDirectWrites, SlabPool } from './direct-io';
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

// The same contract with every body written through the page cache (a filesystem without O_DIRECT).
blobStoreContract('FsBlobStore (page cache only)', async () => {
  const rootDir = await mkdtemp(path.join(tmpdir(), 'berth-fs-blob-store-'));
  return {
    store: await createFsBlobStore({ rootDir, directWrites: false }),
    reopen: () => createFsBlobStore({ rootDir, directWrites: false }),
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

  it('should use direct writes where the root takes them, never when told not to, and leave no probe file behind', async () => {
    const direct = await createFsBlobStore({ rootDir });
    expect(direct.usesDirectWrites).toBe(await probeDirectWrites(rootDir, new SlabPool()));
    expect((await readdir(rootDir)).filter((name) => name.startsWith('.direct'))).toEqual([]);
    const buffered = await createFsBlobStore({ rootDir, directWrites: false });
    expect(buffered.usesDirectWrites).toBe(false);
    // Whatever the mode, a chunked upload of several MiB at unaligned offsets reads back byte for byte.
    for (const store of [direct, buffered]) {
      const parts = [randomBytes(1024 * 1024 + 3), randomBytes(5000), randomBytes(3 * 1024 * 1024 + 1)];
      const { uploadId } = await store.beginUpload('reg');
      let offset = 0;
      for (const part of parts) offset = await store.appendUpload('reg', uploadId, Readable.from([part.subarray(0, 70_000), part.subarray(70_000)]), offset);
      const whole = Buffer.concat(parts);
      const digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
      await store.commitUpload('reg', uploadId, digest);
      const back: Buffer[] = [];
      for await (const chunk of await store.open({ registryId: 'reg', digest })) back.push(chunk as Buffer);
      expect(Buffer.concat(back).equals(whole)).toBe(true);
      await store.close();
    }
  });

  it('should refuse an append whose upload is cancelled while its body streams, as an unknown upload', async () => {
    const store = await createFsBlobStore({ rootDir });
    const { uploadId } = await store.beginUpload('reg');
    const body = new PassThrough();
    const appending = store.appendUpload('reg', uploadId, body, 0);
    body.write(randomBytes(512 * 1024));
    // Once the body flows, the append has opened the data file and is writing (bounded wait).
    for (let i = 0; i < 400 && body.readableFlowing !== true; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(body.readableFlowing).toBe(true);
    await store.abortUpload('reg', uploadId);
    body.end(randomBytes(2 * 1024 * 1024));
    // With direct writes the second handle finds no file (UploadNotFoundError); through the page cache the bytes go
    // to the removed file, and the upload is gone either way.
    const outcome = await appending.then(
      () => 'appended',
      (err: unknown) => (err instanceof UploadNotFoundError ? 'unknown upload' : err),
    );
    expect(outcome).toBe(store.usesDirectWrites ? 'unknown upload' : 'appended');
    await expect(store.uploadStatus('reg', uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
    await store.close();
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
