import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
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
import { createDigestHash, formatDigest, parseDigest, type DigestAlgorithm, type ParsedDigest } from '../digest.util';
import { bufferChunks, mapLimit, settle, withDeadline } from '../stream.util';
import { UploadHasherCache } from '../upload-hasher-cache';
import { writeBody, type DirectWrites } from './body-writer';
import { probeDirectWrites, SlabPool } from './direct-io';

export interface FsBlobStoreOptions {
  /** This region's storage folder (e.g. `<BERTH_DATA_DIR>/blobs/<region>`); created by ensureReady if missing. */
  readonly rootDir: string;
  /**
   * Large upload bodies are written with `O_DIRECT` when the root's filesystem takes it (probed by ensureReady; see
   * direct-io.ts). False: always through the page cache. Default true.
   */
  readonly directWrites?: boolean;
  /** The slabs of direct writes (default: one pool shared by every store of the process, 32 MiB at most). */
  readonly slabs?: SlabPool;
}

/** Slabs for every store of the process that has no pool of its own: one bound on their memory. */
const SHARED_SLABS = new SlabPool();

const DATA_FILE = 'data';
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

/** How many folders the store remembers as existing (beyond that it forgets them all and creates them again). */
const KNOWN_DIRS_MAX = 10_000;

/**
 * BlobStore on a local (or shared, POSIX) filesystem: the embedded default and single-node installs.
 *
 * Uploads append to `uploads/<id>/data`, fdatasync'ed before an append resolves; a failed append truncates
 * back to where it started. Commit verifies the digest, then `rename`s the data file onto the blob path:
 * atomic, so readers see either no blob or the whole blob, and two processes committing the same content
 * both succeed (the second rename replaces identical bytes). `putBlob` writes a private file `uploads/<id>`
 * (no folder) and renames it into place the same way. An upload began when its folder (or file) was last
 * changed: the folder's entries are only created at its start. No presigned URLs: callers stream with `open`.
 *
 * Bodies are written while they are read (see {@link writeBody}), with `O_DIRECT` where the root's filesystem
 * takes it (see direct-io.ts); the folders a store has created are remembered, so that a steady stream of pushes
 * costs no `mkdir` per blob.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly dependency: string;
  private readonly hashers = new UploadHasherCache();
  /** Folders this store created or found (a hint: a folder removed behind its back is created again). */
  private readonly knownDirs = new Set<string>();
  private closed = false;
  private readonly slabs: SlabPool | undefined;
  /** The probe of the root's filesystem for direct writes (started by the first ensureReady), and its answer. */
  private directProbe: Promise<boolean> | undefined;
  private directWrites = false;

  constructor(options: FsBlobStoreOptions) {
    if (typeof options?.rootDir !== 'string' || options.rootDir.trim() === '') {
      throw new StorageArgumentError('fs blob store: rootDir is required');
    }
    this.root = path.resolve(options.rootDir);
    this.dependency = `filesystem blob storage (${this.root})`;
    this.slabs = options.directWrites === false ? undefined : (options.slabs ?? SHARED_SLABS);
  }

  /** Creates the root folder if it is missing, and (once) finds out whether its filesystem takes direct writes. Idempotent. */
  async ensureReady(): Promise<void> {
    this.assertOpen();
    await mkdir(this.root, { recursive: true });
    // Concurrent calls share the one probe, and each returns only once it has answered.
    if (this.slabs) this.directWrites = await (this.directProbe ??= probeDirectWrites(this.root, this.slabs));
  }

  /** Whether this store writes large bodies with `O_DIRECT` (false until ensureReady has run). */
  get usesDirectWrites(): boolean {
    return this.directWrites;
  }

  /** The direct writes of a body written into `file`, when the store uses them. */
  private directFor(file: string): DirectWrites | undefined {
    return this.directWrites && this.slabs ? { path: file, slabs: this.slabs } : undefined;
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
      this.knownDirs.clear();
    });
  }

  beginUpload(registryId: string): Promise<UploadHandle> {
    return this.guard(async () => {
      assertRegistryId(registryId);
      const uploadId = randomUUID();
      const dir = this.abs(uploadPrefix(registryId, uploadId));
      await this.inDir(path.dirname(dir), () => mkdir(dir));
      // The upload exists once its data file does; the folder's modification time is its start. Not fsynced
      // here: an upload that has no bytes yet and is lost in a crash costs the client a new POST. The first
      // append that adds bytes makes the folder durable.
      await (await open(path.join(dir, DATA_FILE), 'wx')).close();
      this.hashers.start(uploadKey(registryId, uploadId));
      return { uploadId };
    });
  }

  appendUpload(registryId: string, uploadId: string, body: Readable, expectedOffset: number): Promise<number> {
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
        try {
          const file = path.join(dir, DATA_FILE);
          position = (await writeBody(handle, body, size, (chunk) => running?.hash.update(chunk), this.directFor(file))).end;
          if (position !== size) await handle.datasync();
          if (size === 0 && position > 0) {
            // The upload's folder and data file were created without fsyncs (beginUpload): make them durable
            // once they hold acknowledged bytes.
            await Promise.all([fsyncDir(dir), fsyncDir(path.dirname(dir))]);
          }
        } catch (err) {
          // All or nothing: forget the (now ahead) running hash and cut the file back to where it was.
          this.hashers.forget(key);
          await handle.truncate(size).catch(() => undefined);
          // The data file vanished under the append (the upload was cancelled or expired while the body streamed:
          // the direct handle, opened once the body outgrows a slab, finds no file).
          if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
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
      try {
        const [data, folder] = await Promise.all([stat(path.join(dir, DATA_FILE)), stat(dir)]);
        return { size: data.size, startedAt: folder.mtime };
      } catch (err) {
        if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
        throw err;
      }
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
      await this.publish(registryId, uploadId, dataPath, parsed);
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
        // Upload folders, and the private files of puts (left behind by a crash).
        const ids = (await listEntries(uploadsDir)).filter(isWellFormedUploadId);
        const found = await mapLimit(ids, 16, async (uploadId) => {
          const startedAt = await stat(path.join(uploadsDir, uploadId)).then(
            (st) => st.mtime,
            () => undefined,
          );
          return startedAt !== undefined && startedAt < olderThan ? [{ registryId, uploadId }] : [];
        });
        return found.flat();
      });
      return perRegistry.flat();
    });
  }

  putBlob(registryId: string, body: Readable, digest: string): Promise<BlobInfo> {
    return this.guard(async () => {
      assertRegistryId(registryId);
      const parsed = parseDigest(digest);
      // A private file straight under uploads/ (no folder, no start file: the file's time serves for expiry),
      // written, verified, made durable and renamed into place: no re-read, no second open or stat.
      const uploadId = randomUUID();
      const file = this.abs(uploadPrefix(registryId, uploadId));
      const handle = await this.inDir(path.dirname(file), () => open(file, 'wx'));
      let closing: Promise<void> | undefined;
      let published = false;
      try {
        const hash = createDigestHash(parsed.algorithm);
        const { end: size } = await writeBody(handle, body, 0, (chunk) => hash.update(chunk), this.directFor(file));
        const actual = hash.digest('hex');
        if (actual !== parsed.hex) throw new DigestMismatchError(parsed.digest, formatDigest(parsed.algorithm, actual), size);
        if (size > 0) await handle.datasync();
        // The bytes are durable: the handle closes while the file is renamed into place (one round trip less).
        closing = handle.close().catch(() => undefined);
        await this.publish(registryId, uploadId, file, parsed);
        published = true;
        return { digest: parsed.digest, size };
      } finally {
        await (closing ?? handle.close().catch(() => undefined));
        if (!published) await rm(file, { force: true }).catch(() => undefined);
      }
    });
  }

  /**
   * Renames a verified, durable file onto the blob's path (atomic: readers see no blob or the whole blob; the
   * same content committed twice replaces identical bytes) and makes the new entry durable.
   */
  private async publish(registryId: string, uploadId: string, file: string, digest: ParsedDigest): Promise<void> {
    const finalPath = this.abs(blobPath(registryId, digest));
    try {
      await this.inDir(path.dirname(finalPath), () => rename(file, finalPath));
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(registryId, uploadId);
      throw err;
    }
    await fsyncDir(path.dirname(finalPath));
  }

  /**
   * Runs `work`, which creates an entry in `dir`, after making sure the folder exists: created once and then
   * remembered; when it was removed behind the store's back (ENOENT), created again and `work` retried once.
   */
  private async inDir<T>(dir: string, work: () => Promise<T>): Promise<T> {
    if (!this.knownDirs.has(dir)) await this.makeDir(dir);
    try {
      return await work();
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== 'ENOENT') throw err;
      await this.makeDir(dir);
      return work();
    }
  }

  private async makeDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (this.knownDirs.size >= KNOWN_DIRS_MAX) this.knownDirs.clear();
    this.knownDirs.add(dir);
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

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function listEntries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
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
