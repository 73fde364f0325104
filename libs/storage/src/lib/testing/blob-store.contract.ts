import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  BlobNotFoundError,
  DigestMismatchError,
  InvalidDigestError,
  RangeNotSatisfiableError,
  StorageArgumentError,
  StorageUnavailableError,
  UploadNotFoundError,
  UploadOffsetMismatchError,
} from '../blob-store.errors';
import type { BlobKey, BlobStore, ByteRange } from '../blob-store.port';

/** What a contract run needs from an adapter's test file. */
export interface BlobStoreFixture {
  /** The store under test (shared by the tests of one run; each test uses its own registry ids). */
  readonly store: BlobStore;
  /** A NEW instance of the same adapter on the same storage: another process, or this one after a restart. */
  reopen(): Promise<BlobStore>;
  /** True when presignGet must hand out a URL that serves the blob (S3); false when it must be undefined (fs). */
  readonly presigns: boolean;
  /**
   * The adapter's part size when it cuts uploads into parts (S3), so tests straddle part boundaries. Keep it
   * at 5 MiB in tests: the 40 MiB streaming test allows at most 20 MiB of live memory (about two parts).
   */
  readonly partSizeBytes?: number;
  /** Removes everything the fixture created (bucket, folder). */
  teardown(): Promise<void>;
}

const MIB = 1024 * 1024;
const SLOW = 120_000;

/**
 * The behaviour every BlobStore adapter must have (see the doc comments of blob-store.port.ts). Run it from
 * each adapter's spec: `blobStoreContract('FsBlobStore', async () => ({ store, reopen, presigns: false, ... }))`.
 */
export function blobStoreContract(name: string, setup: () => Promise<BlobStoreFixture>): void {
  describe(`${name} honours the BlobStore contract`, () => {
    let fixture: BlobStoreFixture | undefined;
    const reopened: BlobStore[] = [];

    const store = (): BlobStore => {
      if (!fixture) throw new Error('the contract fixture failed to set up (see the beforeAll error)');
      return fixture.store;
    };
    const reopen = async (): Promise<BlobStore> => {
      if (!fixture) throw new Error('the contract fixture failed to set up (see the beforeAll error)');
      const other = await fixture.reopen();
      reopened.push(other);
      return other;
    };
    const partSize = (): number => fixture?.partSizeBytes ?? 5 * MIB;

    beforeAll(async () => {
      fixture = await setup();
    }, SLOW);

    afterAll(async () => {
      await Promise.allSettled(reopened.map((other) => other.close()));
      await fixture?.store.close();
      await fixture?.teardown();
    }, SLOW);

    describe('reading', () => {
      it('stat resolves undefined and open rejects BlobNotFoundError for an absent blob', async () => {
        const key = keyOf(registry(), bytes(10, 1));
        await expect(store().stat(key)).resolves.toBeUndefined();
        await expect(store().open(key)).rejects.toBeInstanceOf(BlobNotFoundError);
        await expect(store().open(key, { start: 0, end: 1 })).rejects.toBeInstanceOf(BlobNotFoundError);
      });

      it('rejects malformed digests with InvalidDigestError and malformed registry ids with StorageArgumentError', async () => {
        const registryId = registry();
        for (const digest of ['sha256:abc', 'md5:' + 'a'.repeat(32), 'sha256:' + 'A'.repeat(64), 'nodigest', '']) {
          await expect(store().stat({ registryId, digest })).rejects.toBeInstanceOf(InvalidDigestError);
          await expect(store().open({ registryId, digest })).rejects.toBeInstanceOf(InvalidDigestError);
        }
        const digest = sha256(Buffer.from('x'));
        for (const bad of ['', '../etc', 'a/b', '.hidden', 'x'.repeat(129)]) {
          await expect(store().stat({ registryId: bad, digest })).rejects.toBeInstanceOf(StorageArgumentError);
          await expect(store().beginUpload(bad)).rejects.toBeInstanceOf(StorageArgumentError);
        }
      });

      it('putBlob makes a blob that stat reports and open streams whole and by inclusive ranges', async () => {
        const registryId = registry();
        const content = bytes(1000, 2);
        const digest = sha256(content);
        await expect(store().putBlob(registryId, streamOf(content), digest)).resolves.toEqual({ digest, size: 1000 });
        const key = { registryId, digest };
        await expect(store().stat(key)).resolves.toEqual({ digest, size: 1000 });
        expectBytes(await readAll(await store().open(key)), content);
        const cases: Array<[ByteRange, Buffer]> = [
          [{ start: 0 }, content],
          [{ start: 500, end: 599 }, content.subarray(500, 600)],
          [{ start: 990, end: 5000 }, content.subarray(990)],
          [{ start: 999 }, content.subarray(999)],
          [{ start: 0, end: 0 }, content.subarray(0, 1)],
        ];
        for (const [range, expected] of cases) {
          expectBytes(await readAll(await store().open(key, range)), expected);
        }
      });

      it('open rejects RangeNotSatisfiableError (with the size) when start >= size, and for malformed ranges', async () => {
        const registryId = registry();
        const content = bytes(100, 3);
        const key = keyOf(registryId, content);
        await store().putBlob(registryId, streamOf(content), key.digest);
        const past = await store()
          .open(key, { start: 100 })
          .catch((err: unknown) => err);
        expect(past).toBeInstanceOf(RangeNotSatisfiableError);
        expect((past as RangeNotSatisfiableError).size).toBe(100);
        await expect(store().open(key, { start: 5000, end: 6000 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store().open(key, { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store().open(key, { start: -1 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store().open(key, { start: 1.5 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      });

      it('stores the empty blob; it streams empty and satisfies no range', async () => {
        const registryId = registry();
        const key = keyOf(registryId, Buffer.alloc(0));
        const { uploadId } = await store().beginUpload(registryId);
        await expect(store().commitUpload(registryId, uploadId, key.digest)).resolves.toEqual({
          digest: key.digest,
          size: 0,
        });
        await expect(store().stat(key)).resolves.toEqual({ digest: key.digest, size: 0 });
        expect((await readAll(await store().open(key))).length).toBe(0);
        await expect(store().open(key, { start: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      });

      it('presignGet hands out a URL serving the blob when the adapter presigns, and undefined otherwise', async () => {
        const registryId = registry();
        const content = bytes(4096, 4);
        const key = keyOf(registryId, content);
        await store().putBlob(registryId, streamOf(content), key.digest);
        const url = await store().presignGet(key, { expiresInSeconds: 60 });
        if (fixture?.presigns) {
          expect(typeof url).toBe('string');
          const response = await fetch(url as string);
          expect(response.status).toBe(200);
          expectBytes(Buffer.from(await response.arrayBuffer()), content);
        } else {
          expect(url).toBeUndefined();
        }
        await expect(store().presignGet(key, { expiresInSeconds: 0 })).rejects.toBeInstanceOf(StorageArgumentError);
        await expect(store().presignGet(key, { expiresInSeconds: 604_801 })).rejects.toBeInstanceOf(
          StorageArgumentError,
        );
      });
    });

    describe('uploads', () => {
      it(
        'assembles many small and large chunks (1 B, 100 B, 6 MiB, 3 B) and commits them on the fast path',
        async () => {
          const registryId = registry();
          const chunks = [bytes(1, 5), bytes(100, 6), bytes(6 * MIB, 7), bytes(3, 8)];
          const content = Buffer.concat(chunks);
          const { uploadId } = await store().beginUpload(registryId);
          expect(uploadId).toMatch(/^[A-Za-z0-9_-]+$/);
          let offset = 0;
          for (const chunk of chunks) {
            const size = await store().appendUpload(registryId, uploadId, streamOf(chunk), offset);
            offset += chunk.length;
            expect(size).toBe(offset);
            expect((await store().uploadStatus(registryId, uploadId)).size).toBe(offset);
          }
          const digest = sha256(content);
          await expect(store().stat({ registryId, digest })).resolves.toBeUndefined(); // not visible before commit
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: content.length,
          });
          expectBytes(await readAll(await store().open({ registryId, digest })), content);
          await expect(store().uploadStatus(registryId, uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
        },
        SLOW,
      );

      it(
        'streams a 40 MiB body in one append without buffering it (heap growth stays far below the size)',
        async () => {
          const registryId = registry();
          const total = 40 * MIB;
          const collect = exposeGc();
          const live = (): number => {
            collect();
            collect(); // the second pass frees the array buffers the first one found dead
            const usage = process.memoryUsage();
            return usage.heapUsed + usage.arrayBuffers;
          };
          const baseline = live();
          let peak = 0;
          const hash = createHash('sha256');
          function* body(): Generator<Buffer> {
            for (let i = 0; i < total / MIB; i++) {
              if (i % 4 === 3) peak = Math.max(peak, live() - baseline);
              const chunk = bytes(MIB, 100 + i);
              hash.update(chunk);
              yield chunk;
            }
          }
          const { uploadId } = await store().beginUpload(registryId);
          const size = await store().appendUpload(registryId, uploadId, Readable.from(body(), { highWaterMark: 1 }), 0);
          expect(size).toBe(total);
          const digest = `sha256:${hash.digest('hex')}`;
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({ digest, size: total });
          await expect(store().stat({ registryId, digest })).resolves.toEqual({ digest, size: total });
          expect(peak).toBeLessThan(total / 2);
          const tail = await readAll(await store().open({ registryId, digest }, { start: total - 10 }));
          expectBytes(tail, bytes(MIB, 100 + total / MIB - 1).subarray(MIB - 10));
        },
        SLOW,
      );

      it('rejects an append at the wrong offset with UploadOffsetMismatchError and changes nothing', async () => {
        const registryId = registry();
        const { uploadId } = await store().beginUpload(registryId);
        await store().appendUpload(registryId, uploadId, streamOf(bytes(10, 9)), 0);
        const err = await store()
          .appendUpload(registryId, uploadId, streamOf(bytes(5, 10)), 5)
          .catch((error: unknown) => error);
        expect(err).toBeInstanceOf(UploadOffsetMismatchError);
        expect((err as UploadOffsetMismatchError).currentSize).toBe(10);
        await expect(store().appendUpload(registryId, uploadId, streamOf(bytes(5, 10)), 11)).rejects.toBeInstanceOf(
          UploadOffsetMismatchError,
        );
        expect((await store().uploadStatus(registryId, uploadId)).size).toBe(10);
        await store().abortUpload(registryId, uploadId);
      });

      it('rejects UploadNotFoundError for unknown and malformed upload ids; abort of one resolves', async () => {
        const registryId = registry();
        const digest = sha256(Buffer.from('x'));
        for (const uploadId of [randomUUID(), 'not a valid id!', '../../x', '']) {
          await expect(
            store().appendUpload(registryId, uploadId, streamOf(Buffer.from('x')), 0),
          ).rejects.toBeInstanceOf(UploadNotFoundError);
          await expect(store().uploadStatus(registryId, uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
          await expect(store().commitUpload(registryId, uploadId, digest)).rejects.toBeInstanceOf(UploadNotFoundError);
          await expect(store().abortUpload(registryId, uploadId)).resolves.toBeUndefined();
        }
        const { uploadId } = await store().beginUpload(registryId);
        await expect(store().uploadStatus(registry(), uploadId)).rejects.toBeInstanceOf(UploadNotFoundError); // other registry
        await store().abortUpload(registryId, uploadId);
      });

      it('reports status with a start time and treats an empty append as a no-op', async () => {
        const registryId = registry();
        const before = Date.now();
        const { uploadId } = await store().beginUpload(registryId);
        const status = await store().uploadStatus(registryId, uploadId);
        expect(status.size).toBe(0);
        expect(status.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(status.startedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
        await expect(store().appendUpload(registryId, uploadId, streamOf(Buffer.alloc(0)), 0)).resolves.toBe(0);
        await store().abortUpload(registryId, uploadId);
      });

      it(
        'keeps an upload unchanged when the body fails half-way, and the same offset can be retried',
        async () => {
          const registryId = registry();
          const first = bytes(100, 11);
          const second = bytes(partSize() + MIB, 12);
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(first), 0);
          function* broken(): Generator<Buffer> {
            yield second.subarray(0, partSize());
            yield second.subarray(partSize(), partSize() + 1000);
            throw new Error('client went away');
          }
          await expect(store().appendUpload(registryId, uploadId, Readable.from(broken()), 100)).rejects.toThrow(
            'client went away',
          );
          expect((await store().uploadStatus(registryId, uploadId)).size).toBe(100);
          await expect(store().appendUpload(registryId, uploadId, streamOf(second), 100)).resolves.toBe(
            100 + second.length,
          );
          const digest = sha256(Buffer.concat([first, second]));
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: 100 + second.length,
          });
          expectBytes(await readAll(await store().open({ registryId, digest })), Buffer.concat([first, second]));
        },
        SLOW,
      );

      it(
        'rejects a wrong digest with DigestMismatchError, shows nothing, and keeps the upload usable',
        async () => {
          const registryId = registry();
          const content = bytes(partSize() + 123, 13);
          const wrong = sha256(Buffer.from('something else'));
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(content), 0);
          const err = await store()
            .commitUpload(registryId, uploadId, wrong)
            .catch((error: unknown) => error);
          expect(err).toBeInstanceOf(DigestMismatchError);
          expect((err as DigestMismatchError).actual).toBe(sha256(content));
          await expect(store().stat({ registryId, digest: wrong })).resolves.toBeUndefined();
          await expect(store().stat({ registryId, digest: sha256(content) })).resolves.toBeUndefined();
          expect((await store().uploadStatus(registryId, uploadId)).size).toBe(content.length);
          // the same store on the slow path (another instance) agrees, and also shows nothing
          const other = await reopen();
          await expect(other.commitUpload(registryId, uploadId, wrong)).rejects.toBeInstanceOf(DigestMismatchError);
          await expect(other.stat({ registryId, digest: wrong })).resolves.toBeUndefined();
          // still usable: more bytes, then the right digest
          const more = bytes(7, 14);
          await store().appendUpload(registryId, uploadId, streamOf(more), content.length);
          const digest = sha256(Buffer.concat([content, more]));
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: content.length + 7,
          });
        },
        SLOW,
      );

      it(
        'lets another instance (a restart, another process) continue and commit an upload on the slow path',
        async () => {
          const registryId = registry();
          const a = bytes(partSize() + 17, 15);
          const b = bytes(1234, 16);
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(a), 0);
          const other = await reopen();
          expect((await other.uploadStatus(registryId, uploadId)).size).toBe(a.length);
          await expect(other.appendUpload(registryId, uploadId, streamOf(b), a.length)).resolves.toBe(
            a.length + b.length,
          );
          const digest = sha256(Buffer.concat([a, b]));
          // the first instance's running hash is stale now (it missed b): it must notice and re-read
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: a.length + b.length,
          });
          expectBytes(await readAll(await other.open({ registryId, digest })), Buffer.concat([a, b]));

          const { uploadId: second } = await store().beginUpload(registryId);
          const c = bytes(3000, 17);
          await store().appendUpload(registryId, second, streamOf(c), 0);
          const restarted = await reopen();
          await expect(restarted.commitUpload(registryId, second, sha256(c))).resolves.toEqual({
            digest: sha256(c),
            size: 3000,
          });
        },
        SLOW,
      );

      it(
        'commits with a sha512 digest (verified by re-reading) and putBlob accepts sha512',
        async () => {
          const registryId = registry();
          const content = bytes(partSize() + 5, 18);
          const digest = sha512(content);
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(content), 0);
          await expect(store().commitUpload(registryId, uploadId, sha512(bytes(10, 0)))).rejects.toBeInstanceOf(
            DigestMismatchError,
          );
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: content.length,
          });
          expectBytes(await readAll(await store().open({ registryId, digest })), content);
          const small = bytes(77, 19);
          await expect(store().putBlob(registryId, streamOf(small), sha512(small))).resolves.toEqual({
            digest: sha512(small),
            size: 77,
          });
          await expect(store().stat({ registryId, digest: sha256(content) })).resolves.toBeUndefined();
        },
        SLOW,
      );

      it(
        'commits the same content from several concurrent uploads: all succeed and the blob is intact',
        async () => {
          const registryId = registry();
          const content = bytes(2 * partSize() + 999, 20);
          const digest = sha256(content);
          const uploads = await Promise.all(
            [0, 1, 2, 3].map(async (i) => {
              const { uploadId } = await (i % 2 === 0 ? store() : await reopen()).beginUpload(registryId);
              await store().appendUpload(registryId, uploadId, streamOf(content), 0);
              return uploadId;
            }),
          );
          const other = await reopen();
          const results = await Promise.all(
            uploads.map((uploadId, i) => (i % 2 === 0 ? store() : other).commitUpload(registryId, uploadId, digest)),
          );
          for (const result of results) expect(result).toEqual({ digest, size: content.length });
          expectBytes(await readAll(await store().open({ registryId, digest })), content);
          // committing content that already exists is fine
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(content), 0);
          await expect(store().commitUpload(registryId, uploadId, digest)).resolves.toEqual({
            digest,
            size: content.length,
          });
        },
        SLOW,
      );

      it(
        'abortUpload removes the upload and its bytes; it is idempotent',
        async () => {
          const registryId = registry();
          const { uploadId } = await store().beginUpload(registryId);
          await store().appendUpload(registryId, uploadId, streamOf(bytes(partSize() + 1, 21)), 0);
          await store().abortUpload(registryId, uploadId);
          await expect(store().uploadStatus(registryId, uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
          await expect(
            store().appendUpload(registryId, uploadId, streamOf(Buffer.from('x')), 0),
          ).rejects.toBeInstanceOf(UploadNotFoundError);
          await expect(store().commitUpload(registryId, uploadId, sha256(Buffer.alloc(0)))).rejects.toBeInstanceOf(
            UploadNotFoundError,
          );
          await expect(store().abortUpload(registryId, uploadId)).resolves.toBeUndefined();
          const listed = await store().listUploads(new Date(Date.now() + 3_600_000));
          expect(listed.filter((ref) => ref.registryId === registryId)).toEqual([]);
        },
        SLOW,
      );

      it('listUploads(olderThan) lists the uploads that began before the cut-off', async () => {
        const registryId = registry();
        const first = await store().beginUpload(registryId);
        const second = await store().beginUpload(registryId);
        await store().appendUpload(registryId, second.uploadId, streamOf(bytes(10, 22)), 0);
        const later = (await store().listUploads(new Date(Date.now() + 3_600_000))).filter(
          (ref) => ref.registryId === registryId,
        );
        expect(later.map((ref) => ref.uploadId).sort()).toEqual([first.uploadId, second.uploadId].sort());
        const earlier = (await store().listUploads(new Date(Date.now() - 3_600_000))).filter(
          (ref) => ref.registryId === registryId,
        );
        expect(earlier).toEqual([]);
        await store().abortUpload(registryId, first.uploadId);
        await store().abortUpload(registryId, second.uploadId);
      });
    });

    describe('putBlob', () => {
      it(
        'streams a blob larger than a part, and storing existing content again is fine',
        async () => {
          const registryId = registry();
          const content = bytes(2 * partSize() + MIB + 3, 23);
          const digest = sha256(content);
          await expect(
            store().putBlob(registryId, Readable.from(chunked(content, 256 * 1024)), digest),
          ).resolves.toEqual({
            digest,
            size: content.length,
          });
          await expect(store().putBlob(registryId, streamOf(content), digest)).resolves.toEqual({
            digest,
            size: content.length,
          });
          expectBytes(await readAll(await store().open({ registryId, digest })), content);
        },
        SLOW,
      );

      it(
        'rejects a wrong digest with DigestMismatchError and leaves nothing behind',
        async () => {
          const registryId = registry();
          for (const content of [bytes(100, 24), bytes(partSize() + 10, 25)]) {
            const wrong = sha256(Buffer.concat([content, Buffer.from('!')]));
            await expect(store().putBlob(registryId, streamOf(content), wrong)).rejects.toBeInstanceOf(
              DigestMismatchError,
            );
            await expect(store().stat({ registryId, digest: wrong })).resolves.toBeUndefined();
            await expect(store().stat({ registryId, digest: sha256(content) })).resolves.toBeUndefined();
          }
          const leftovers = await store().listUploads(new Date(Date.now() + 3_600_000));
          expect(leftovers.filter((ref) => ref.registryId === registryId)).toEqual([]);
          // existing content, wrong digest for the bytes sent: still a mismatch
          const stored = bytes(50, 26);
          await store().putBlob(registryId, streamOf(stored), sha256(stored));
          await expect(store().putBlob(registryId, streamOf(bytes(50, 27)), sha256(stored))).rejects.toBeInstanceOf(
            DigestMismatchError,
          );
        },
        SLOW,
      );
    });

    describe('deleting', () => {
      it('delete removes a blob and is idempotent', async () => {
        const registryId = registry();
        const content = bytes(64, 28);
        const key = keyOf(registryId, content);
        await store().putBlob(registryId, streamOf(content), key.digest);
        await store().delete(key);
        await expect(store().stat(key)).resolves.toBeUndefined();
        await expect(store().open(key)).rejects.toBeInstanceOf(BlobNotFoundError);
        await expect(store().delete(key)).resolves.toBeUndefined();
        await expect(store().delete(keyOf(registry(), content))).resolves.toBeUndefined();
      });

      it('deleteRegistry removes every blob and upload of that registry only; it is idempotent', async () => {
        const doomed = registry();
        const kept = registry();
        const content = bytes(300, 29);
        const digest = sha256(content);
        await store().putBlob(doomed, streamOf(content), digest);
        await store().putBlob(kept, streamOf(content), digest);
        const { uploadId } = await store().beginUpload(doomed);
        await store().appendUpload(doomed, uploadId, streamOf(content), 0);
        const keptUpload = await store().beginUpload(kept);
        await store().deleteRegistry(doomed);
        await expect(store().stat({ registryId: doomed, digest })).resolves.toBeUndefined();
        await expect(store().uploadStatus(doomed, uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
        await expect(store().stat({ registryId: kept, digest })).resolves.toEqual({ digest, size: 300 });
        await expect(store().uploadStatus(kept, keptUpload.uploadId)).resolves.toMatchObject({ size: 0 });
        await expect(store().deleteRegistry(doomed)).resolves.toBeUndefined();
        await store().abortUpload(kept, keptUpload.uploadId);
      });
    });

    describe('lifecycle', () => {
      it('ping resolves while the backend is healthy', async () => {
        await expect(store().ping()).resolves.toBeUndefined();
      });

      it('close is idempotent and afterwards every operation rejects StorageUnavailableError', async () => {
        const other = await reopen();
        await expect(other.ping()).resolves.toBeUndefined();
        await other.close();
        await other.close();
        const key = keyOf(registry(), Buffer.from('x'));
        await expect(other.stat(key)).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(other.beginUpload(key.registryId)).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(other.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store().ping()).resolves.toBeUndefined(); // other instances are unaffected
      });
    });
  });
}

// ---- helpers ------------------------------------------------------------------------------------------------

function registry(): string {
  return `reg-${randomUUID()}`;
}

function keyOf(registryId: string, content: Buffer): BlobKey {
  return { registryId, digest: sha256(content) };
}

function sha256(content: Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function sha512(content: Buffer): string {
  return `sha512:${createHash('sha512').update(content).digest('hex')}`;
}

/** Deterministic pseudo-random bytes (xorshift32 seeded by `seed`), so failures reproduce. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < length; i++) out[i] = (x >>> (8 * (i % 4))) & 0xff;
  return out;
}

function streamOf(content: Buffer): Readable {
  return Readable.from([content]);
}

function* chunked(content: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < content.length; offset += size) yield content.subarray(offset, offset + size);
}

/** Compares bytes by length and digest: Jest's toEqual on multi-MiB Buffers takes minutes and gigabytes. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(sha256(actual)).toBe(sha256(expected));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** V8's collector, exposed at run time (Jest offers no --expose-gc switch per test file). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
