import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  BlobNotFoundError,
  DigestMismatchError,
  StorageArgumentError,
  StorageUnavailableError,
  UploadNotFoundError,
  UploadOffsetMismatchError,
} from '../blob-store.errors';
import {
  assertRegistryId,
  blobPath,
  isWellFormedUploadId,
  REGISTRIES_PREFIX,
  registryPrefix,
  resolveBlobKey,
  uploadPrefix,
  uploadsPrefix,
} from '../blob-layout.util';
import type {
  BlobInfo,
  BlobKey,
  BlobStore,
  ByteRange,
  PresignOptions,
  UploadHandle,
  UploadRef,
  UploadStatus,
} from '../blob-store.port';
import { resolveRange } from '../byte-range.util';
import { assertPresignOptions } from '../presign-options.util';
import { createDigestHash, formatDigest, parseDigest, type DigestAlgorithm } from '../digest.util';
import { bufferChunks, mapLimit, settle, withDeadline } from '../stream.util';
import { UploadHasherCache } from '../upload-hasher-cache';

export interface FsBlobStoreOptions {
  /** This region's storage folder (e.g. `<BERTH_DATA_DIR>/blobs/<region>`); created by ensureReady if missing. */
  readonly rootDir: string;
}

const DATA_FILE = 'data';
const STARTED_AT_FILE = 'started-at';
const READ_HIGH_WATER_MARK = 256 * 1024;
const PING_DEADLINE_MS = 2000;
const UNAVAILABLE_FS_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
  'EACCES',
  'EPERM',
  'EMFILE',
  'ENFILE',
  'ESTALE',
]);

/** Appends write in batches of about this many bytes, or this many chunks, whichever comes first. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 64;

/**
 * BlobStore on a local (or shared, POSIX) filesystem: the embedded default and single-node installs.
 *
 * Uploads append to `uploads/<id>/data`, fdatasync'ed before an append resolves; a failed append truncates
 * back to where it started. Commit verifies the digest, then `rename`s the data file onto the blob path:
 * atomic, so readers see either no blob or the whole blob, and two processes committing the same content
 * both succeed (the second rename replaces identical bytes). No presigned URLs: callers stream with `open`.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly dependency: string;
  private readonly hashers = new UploadHasherCache();
  private closed = false;

  constructor(options: FsBlobStoreOptions) {
    if (typeof options?.rootDir !== 'string' || options.rootDir.trim() === '') {
      throw new StorageArgumentError('fs blob store: rootDir is required');
    }
    this.root = path.resolve(options.rootDir);
    this.dependency = `filesystem blob storage (${this.root})`;
  }

  /** Creates the root folder if it is missing. Idempotent. */
  async ensureReady(): Promise<void> {
    this.assertOpen();
    await mkdir(this.root, { recursive: true });
  }

  stat(key: BlobKey): Promise<BlobInfo | undefined> {
    return this.guard(async () => {
      const { path: rel } = resolveBlobKey(key);
      try {
        const st = await stat(this.abs(rel));
        return st.isFile() ? { digest: key.digest, size: st.size } : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  open(key: BlobKey, range?: ByteRange): Promise<Readable> {
    return this.guard(async () => {
      const { path: rel } = resolveBlobKey(key);
      let handle: FileHandle;
      try {
        handle = await open(this.abs(rel), 'r');
      } catch (err) {
        if (isNotFound(err)) throw new BlobNotFoundError(key.registryId, key.digest);
        throw err;
      }
      try {
        const { size } = await handle.stat();
        const span = range ? resolveRange(range, size) : size > 0 ? { start: 0, end: size - 1 } : undefined;
        if (!span) {
          await handle.close();
          return Readable.from([]);
        }
        // The handle (not the path) is streamed: a concurrent delete cannot turn this into a 404 half-way.
        return handle.createReadStream({ start: span.start, end: span.end, highWaterMark: READ_HIGH_WATER_MARK });
      } catch (err) {
        await handle.close();
        throw err;
      }
    });
  }

  /** Always undefined once the arguments are valid: a folder has no URLs, the caller streams with `open`. */
  presignGet(key: BlobKey, options: PresignOptions): Promise<string | undefined> {
    return settle(() => {
      this.assertOpen();
      resolveBlobKey(key);
      assertPresignOptions(options);
      return undefined;
    });
  }

  delete(key: BlobKey): Promise<void> {
    return this.guard(async () => {
      const { path: rel } = resolveBlobKey(key);
      await rm(this.abs(rel), { force: true });
    });
  }

  deleteRegistry(registryId: string): Promise<void> {
    return this.guard(async () => {
      assertRegistryId(registryId);
      await rm(this.abs(registryPrefix(registryId)), { recursive: true, force: true });
    });
  }

  beginUpload(registryId: string): Promise<UploadHandle> {
    return this.guard(() => this.createUpload(registryId, true));
  }

  /** A new upload folder; `startedAt` false for a put's private upload (the folder's time serves for expiry). */
  private async createUpload(registryId: string, startedAt: boolean): Promise<UploadHandle> {
    assertRegistryId(registryId);
    const uploadId = randomUUID();
    const dir = this.abs(uploadPrefix(registryId, uploadId));
    await mkdir(dir, { recursive: true });
    // started-at first, data last: an upload exists once its data file does, and then it has a start time (a
    // torn or missing started-at file falls back to the folder's time). Not fsynced here: an upload that has no
    // bytes yet and is lost in a crash costs the client a new POST. The first append that adds bytes makes the
    // folder durable; a monolithic put never needs it (the commit makes the blob durable).
    if (startedAt) {
      await writeFile(path.join(dir, STARTED_AT_FILE), JSON.stringify({ startedAt: new Date().toISOString() }), { flag: 'wx' });
    }
    await writeFile(path.join(dir, DATA_FILE), '', { flag: 'wx' });
    this.hashers.start(uploadKey(registryId, uploadId));
    return { uploadId };
  }

  appendUpload(registryId: string, uploadId: string, body: Readable, expectedOffset: number): Promise<number> {
    return this.append(registryId, uploadId, body, expectedOffset, true);
  }

  /** `durable`: whether an acknowledged first append must survive a crash (not for a put's private upload). */
  private append(registryId: string, uploadId: string, body: Readable, expectedOffset: number, durable: boolean): Promise<number> {
    return this.guard(async () => {
      const dir = this.uploadDir(registryId, uploadId);
      let handle: FileHandle;
      try {
        handle = await open(path.join(dir, DATA_FILE), 'r+');
      } catch (err) {
        if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
        throw err;
      }
      try {
        const { size } = await handle.stat();
        if (expectedOffset !== size) throw new UploadOffsetMismatchError(expectedOffset, size);
        const key = uploadKey(registryId, uploadId);
        const running = this.hashers.at(key, size);
        let position = size;
        // Socket chunks (~64 KiB) are written in batches of about 1 MiB, one positional writev each: a sixteenth of
        // the awaited writes (and their thread-pool round trips and promises) of one write per chunk.
        const batch: Buffer[] = [];
        let batched = 0;
        const flush = async (): Promise<void> => {
          if (batched === 0) return;
          await writeAll(handle, batch, batched, position);
          position += batched;
          batch.length = 0;
          batched = 0;
        };
        try {
          for await (const chunk of bufferChunks(body)) {
            running?.hash.update(chunk);
            batch.push(chunk);
            batched += chunk.length;
            if (batched >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) await flush();
          }
          await flush();
          if (position !== size) await handle.datasync();
          if (durable && size === 0 && position > 0) {
            // The upload's folder and data file were created without fsyncs (beginUpload): make them durable
            // once they hold acknowledged bytes.
            await fsyncDir(dir);
            await fsyncDir(path.dirname(dir));
          }
        } catch (err) {
          // All or nothing: forget the (now ahead) running hash and cut the file back to where it was.
          this.hashers.forget(key);
          await handle.truncate(size).catch(() => undefined);
          throw err;
        }
        if (running) running.offset = position;
        return position;
      } finally {
        await handle.close();
      }
    });
  }

  uploadStatus(registryId: string, uploadId: string): Promise<UploadStatus> {
    return this.guard(async () => {
      const dir = this.uploadDir(registryId, uploadId);
      let size: number;
      try {
        size = (await stat(path.join(dir, DATA_FILE))).size;
      } catch (err) {
        if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
        throw err;
      }
      return { size, startedAt: await readStartedAt(dir) };
    });
  }

  commitUpload(registryId: string, uploadId: string, digest: string): Promise<BlobInfo> {
    return this.guard(async () => {
      const parsed = parseDigest(digest);
      const dir = this.uploadDir(registryId, uploadId);
      const dataPath = path.join(dir, DATA_FILE);
      let size: number;
      try {
        size = (await stat(dataPath)).size;
      } catch (err) {
        if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
        throw err;
      }
      const key = uploadKey(registryId, uploadId);
      const actual =
        this.hashers.digestIfComplete(key, size, parsed.algorithm) ?? (await hashFile(dataPath, parsed.algorithm));
      if (actual !== parsed.hex) {
        throw new DigestMismatchError(parsed.digest, formatDigest(parsed.algorithm, actual), size);
      }
      const finalPath = this.abs(blobPath(registryId, parsed));
      await mkdir(path.dirname(finalPath), { recursive: true });
      try {
        await rename(dataPath, finalPath);
      } catch (err) {
        if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
        throw err;
      }
      await fsyncDir(path.dirname(finalPath));
      this.hashers.forget(key);
      await rm(dir, { recursive: true, force: true });
      return { digest: parsed.digest, size };
    });
  }

  abortUpload(registryId: string, uploadId: string): Promise<void> {
    return this.guard(async () => {
      assertRegistryId(registryId);
      if (!isWellFormedUploadId(uploadId)) return;
      this.hashers.forget(uploadKey(registryId, uploadId));
      await rm(this.abs(uploadPrefix(registryId, uploadId)), { recursive: true, force: true });
    });
  }

  listUploads(olderThan: Date): Promise<UploadRef[]> {
    return this.guard(async () => {
      const registries = await listDirs(this.abs(REGISTRIES_PREFIX));
      const perRegistry = await mapLimit(registries, 8, async (registryId) => {
        const uploadsDir = this.abs(uploadsPrefix(registryId));
        const ids = (await listDirs(uploadsDir)).filter(isWellFormedUploadId);
        const found = await mapLimit(ids, 16, async (uploadId) => {
          const startedAt = await readStartedAt(path.join(uploadsDir, uploadId)).catch(() => undefined);
          return startedAt !== undefined && startedAt < olderThan ? [{ registryId, uploadId }] : [];
        });
        return found.flat();
      });
      return perRegistry.flat();
    });
  }

  putBlob(registryId: string, body: Readable, digest: string): Promise<BlobInfo> {
    return this.guard(async () => {
      const parsed = parseDigest(digest);
      const { uploadId } = await this.createUpload(registryId, false);
      // The algorithm is known up front, so even sha512 takes the fast path.
      this.hashers.start(uploadKey(registryId, uploadId), parsed.algorithm);
      try {
        await this.append(registryId, uploadId, body, 0, false);
        return await this.commitUpload(registryId, uploadId, digest);
      } catch (err) {
        await this.abortUpload(registryId, uploadId).catch(() => undefined);
        throw err;
      }
    });
  }

  async ping(): Promise<void> {
    this.assertOpen();
    const check = async (): Promise<void> => {
      const st = await stat(this.root);
      if (!st.isDirectory()) throw new Error('not a directory');
      await access(this.root, fsConstants.R_OK | fsConstants.W_OK);
    };
    try {
      await withDeadline(check(), PING_DEADLINE_MS, () => new Error(`no answer within ${PING_DEADLINE_MS} ms`));
    } catch (err) {
      throw new StorageUnavailableError(this.dependency, errorMessage(err), { cause: err });
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.hashers.clear();
    return Promise.resolve();
  }

  /**
   * Runs one public operation: rejects if the store is closed, and reports a disk that cannot work (full,
   * read-only, failing, no permission) as StorageUnavailableError. Other errors pass through unchanged.
   */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await operation();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && UNAVAILABLE_FS_CODES.has(code)) {
        throw new StorageUnavailableError(this.dependency, errorMessage(err), { cause: err });
      }
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageUnavailableError(this.dependency, 'the store is closed');
  }

  /** Validates the ids and returns the upload's folder; UploadNotFoundError for ids no store could mint. */
  private uploadDir(registryId: string, uploadId: string): string {
    assertRegistryId(registryId);
    if (!isWellFormedUploadId(uploadId)) throw new UploadNotFoundError(registryId, uploadId);
    return this.abs(uploadPrefix(registryId, uploadId));
  }

  private abs(relative: string): string {
    return path.join(this.root, ...relative.split('/').filter((part) => part !== ''));
  }
}

/** Builds an FsBlobStore and creates its root folder. */
export async function createFsBlobStore(options: FsBlobStoreOptions): Promise<FsBlobStore> {
  const store = new FsBlobStore(options);
  await store.ensureReady();
  return store;
}

function uploadKey(registryId: string, uploadId: string): string {
  return `${registryId}/${uploadId}`;
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** Writes `chunks` (`bytes` in all) at `position`: one writev, then whatever it left (a short write) piece by piece. */
async function writeAll(handle: FileHandle, chunks: readonly Buffer[], bytes: number, position: number): Promise<void> {
  const { bytesWritten } = chunks.length === 1 ? await handle.write(chunks[0] as Buffer, 0, bytes, position) : await handle.writev(chunks, position);
  if (bytesWritten < bytes) await writeFully(handle, Buffer.concat(chunks, bytes).subarray(bytesWritten), position + bytesWritten);
}

async function writeFully(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

/** Makes a directory's entries (a created, renamed or removed file) durable. Best effort where unsupported. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close();
  }
}

async function readStartedAt(uploadDir: string): Promise<Date> {
  try {
    const parsed = JSON.parse(await readFile(path.join(uploadDir, STARTED_AT_FILE), 'utf8')) as { startedAt?: unknown };
    const date = typeof parsed.startedAt === 'string' ? new Date(parsed.startedAt) : undefined;
    if (date && !Number.isNaN(date.getTime())) return date;
  } catch {
    // Missing or torn (a crash during beginUpload): fall back to the folder's modification time.
  }
  return (await stat(uploadDir)).mtime;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function hashFile(file: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createDigestHash(algorithm);
  for await (const chunk of bufferChunks(createReadStream(file, { highWaterMark: READ_HIGH_WATER_MARK }))) {
    hash.update(chunk);
  }
  return hash.digest('hex');
}
