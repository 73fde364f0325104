import { createHash, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'minio';
import {
  BlobNotFoundError,
  DigestMismatchError,
  RangeNotSatisfiableError,
  StorageArgumentError,
  StorageUnavailableError,
  UploadNotFoundError,
  UploadOffsetMismatchError,
  UploadTooLargeError,
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
import { assertRangeShape } from '../byte-range.util';
import { createDigestHash, formatDigest, parseDigest, type DigestAlgorithm } from '../digest.util';
import { PartCutter } from '../part-cutter.util';
import { assertPresignOptions } from '../presign-options.util';
import { bufferChunks, mapLimit, withDeadline } from '../stream.util';
import { UploadHasherCache } from '../upload-hasher-cache';
import { classifyS3Error, createAgent, createTimeoutTransport, describeError, errorCode } from './s3-http.util';
import { newUploadState, parseUploadState, type S3Segment, type S3UploadState } from './s3-upload-state';

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last part of a multipart upload). */
export const S3_MIN_PART_SIZE = 5 * MIB;
/** S3's largest part (and largest single CopyObject source). */
export const S3_MAX_PART_SIZE = 5 * 1024 * MIB;
/** S3's most parts in one multipart upload. */
export const S3_MAX_PARTS = 10_000;
const DEFAULT_PART_SIZE = 16 * MIB;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_MAX_SOCKETS = 64;
const PING_REQUEST_TIMEOUT_MS = 1_500;
const PING_DEADLINE_MS = 2_000;
const COPY_CONCURRENCY = 4;
const LIST_CONCURRENCY = 8;
const DELETE_BATCH = 1000;
const MAX_STATE_BYTES = 4 * MIB;
// An open-ended range is sent as `bytes=<start>-<huge>`: S3 clamps the end, and an empty object answers 416,
// exactly like the port's contract (minio's getPartialObject would send no Range header at all for start 0).
const OPEN_END = Number.MAX_SAFE_INTEGER;

export interface S3BlobStoreOptions {
  /**
   * The S3 API endpoint as a URL: scheme, host and optional port, no path (e.g. `http://127.0.0.1:59000`, the
   * shape of `BERTH_S3_ENDPOINT`, or `https://s3.eu-west-1.amazonaws.com`). `https:` turns TLS on.
   */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Signing region (default `us-east-1`). Always set: it also spares a GetBucketLocation round trip. */
  readonly region?: string;
  /** This region's bucket; created by ensureReady when missing. */
  readonly bucket: string;
  /**
   * Base URL (scheme, host, port; no path) that presigned URLs are built against, so that clients outside the
   * cluster can follow them (default: `endpoint`). SigV4 signs the Host header, so whatever serves this URL
   * must forward to S3 with the Host header unchanged.
   */
  readonly publicEndpoint?: string;
  /** Segment/part size, 5 MiB to 5 GiB (default 16 MiB). An append holds at most about two parts in memory. */
  readonly partSizeBytes?: number;
  /** How long one request may sit idle before its response headers arrive (default 30 000 ms). */
  readonly requestTimeoutMs?: number;
  /** Retries of an idempotent request after a reset connection or a 5xx/SlowDown (default 2; 0 disables). */
  readonly maxRetries?: number;
  /** Most concurrent connections to S3 (default 64). */
  readonly maxSockets?: number;
  /** Path-style URLs, `<endpoint>/<bucket>/<key>` (default true: what MinIO and most S3-compatibles expect). */
  readonly pathStyle?: boolean;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly useSSL: boolean;
  readonly url: string;
}

/**
 * BlobStore on S3 (MinIO or any S3-compatible service), one bucket per region, via the `minio` client.
 *
 * Uploads: each append streams the body into "segment" objects of exactly the part size under the upload's
 * prefix (one segment uploading while the next fills: at most ~2 parts in memory); the remainder becomes an
 * open last segment that the next append merges with its first bytes. The append then replaces the small
 * `state.json` listing the segments, which is what makes it atomic and resumable from any process.
 *
 * Commit: the digest is checked first (the running SHA-256 of this process when it saw every byte, else by
 * streaming the segments back), so a mismatch changes nothing. Only then is the blob assembled at its
 * content-addressed key with one server-side UploadPartCopy per segment (CopyObject for one segment), and
 * the upload removed. A multipart upload's key is fixed when it starts, and the key depends on the digest
 * that is only known at commit, so assembling costs one server-side copy; no bytes travel through this process.
 *
 * putBlob knows the digest up front, so it streams a multipart upload straight to the final key, completing
 * it only when the digest matched (zero copies: replication and monolithic pushes).
 */
export class S3BlobStore implements BlobStore {
  private readonly bucket: string;
  private readonly region: string;
  private readonly partSize: number;
  private readonly maxRetries: number;
  private readonly dependency: string;
  private readonly client: Client;
  private readonly pingClient: Client;
  private readonly presignClient: Client;
  private readonly agents: http.Agent[];
  private readonly hashers = new UploadHasherCache();
  private closed = false;
  private bucketReady: Promise<void> | undefined;

  constructor(options: S3BlobStoreOptions) {
    const endpoint = parseEndpoint(options?.endpoint, 'endpoint');
    const publicEndpoint = options.publicEndpoint ? parseEndpoint(options.publicEndpoint, 'publicEndpoint') : endpoint;
    if (typeof options.accessKey !== 'string' || options.accessKey === '') {
      throw new StorageArgumentError('s3 blob store: accessKey is required');
    }
    if (typeof options.secretKey !== 'string' || options.secretKey === '') {
      throw new StorageArgumentError('s3 blob store: secretKey is required');
    }
    if (typeof options.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new StorageArgumentError('s3 blob store: bucket must be a valid S3 bucket name (3-63 of [a-z0-9.-])');
    }
    this.bucket = options.bucket;
    this.region = options.region ?? 'us-east-1';
    this.partSize = integerOption(
      options.partSizeBytes,
      DEFAULT_PART_SIZE,
      S3_MIN_PART_SIZE,
      S3_MAX_PART_SIZE,
      'partSizeBytes',
    );
    const requestTimeoutMs = integerOption(
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
      100,
      3_600_000,
      'requestTimeoutMs',
    );
    this.maxRetries = integerOption(options.maxRetries, DEFAULT_MAX_RETRIES, 0, 10, 'maxRetries');
    const maxSockets = integerOption(options.maxSockets, DEFAULT_MAX_SOCKETS, 1, 10_000, 'maxSockets');
    this.dependency = `S3 blob storage (${endpoint.url}, bucket ${this.bucket})`;

    const dataAgent = createAgent(endpoint.useSSL, true, maxSockets);
    const pingAgent = createAgent(endpoint.useSSL, false, 4);
    this.agents = [dataAgent, pingAgent];
    const common = {
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
      pathStyle: options.pathStyle ?? true,
      // The adapter retries idempotent requests itself (few, short back-offs, no console output).
      retryOptions: { disableRetry: true },
      // A buffer handed to putObject is always sent as ONE request (segments are at most the part size).
      partSize: Math.max(this.partSize, 64 * MIB),
    };
    this.client = new Client({
      ...common,
      endPoint: endpoint.host,
      port: endpoint.port,
      useSSL: endpoint.useSSL,
      transport: createTimeoutTransport(endpoint.useSSL, requestTimeoutMs),
      transportAgent: dataAgent,
    });
    this.pingClient = new Client({
      ...common,
      endPoint: endpoint.host,
      port: endpoint.port,
      useSSL: endpoint.useSSL,
      transport: createTimeoutTransport(endpoint.useSSL, PING_REQUEST_TIMEOUT_MS),
      transportAgent: pingAgent,
    });
    // Presigning is local computation (the region is set), so this client never opens a connection.
    this.presignClient =
      publicEndpoint === endpoint
        ? this.client
        : new Client({
            ...common,
            endPoint: publicEndpoint.host,
            port: publicEndpoint.port,
            useSSL: publicEndpoint.useSSL,
          });
  }

  /** Creates the bucket when it is missing. Idempotent; safe when several processes race to create it. */
  ensureReady(): Promise<void> {
    this.bucketReady ??= this.createBucketIfMissing().catch((err: unknown) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  async stat(key: BlobKey): Promise<BlobInfo | undefined> {
    const { path } = resolveBlobKey(key);
    const size = await this.objectSize(path);
    return size === undefined ? undefined : { digest: key.digest, size };
  }

  async open(key: BlobKey, range?: ByteRange): Promise<Readable> {
    const { path } = resolveBlobKey(key);
    if (range) assertRangeShape(range);
    try {
      return await this.call('GetObject', () =>
        range
          ? this.client.getPartialObject(this.bucket, path, range.start, (range.end ?? OPEN_END) - range.start + 1)
          : this.client.getObject(this.bucket, path),
      );
    } catch (err) {
      const code = errorCode(err);
      if (code === 'NoSuchKey' || code === 'NotFound') throw new BlobNotFoundError(key.registryId, key.digest);
      if (code === 'InvalidRange' && range) {
        const size = await this.objectSize(path);
        if (size === undefined) throw new BlobNotFoundError(key.registryId, key.digest);
        throw new RangeNotSatisfiableError(range.start, range.end, size);
      }
      throw err;
    }
  }

  async presignGet(key: BlobKey, options: PresignOptions): Promise<string | undefined> {
    this.assertOpen();
    const { path } = resolveBlobKey(key);
    assertPresignOptions(options);
    return await this.presignClient.presignedGetObject(this.bucket, path, options.expiresInSeconds);
  }

  async delete(key: BlobKey): Promise<void> {
    const { path } = resolveBlobKey(key);
    await this.call('DeleteObject', () => this.client.removeObject(this.bucket, path));
  }

  async deleteRegistry(registryId: string): Promise<void> {
    assertRegistryId(registryId);
    const prefix = registryPrefix(registryId);
    await this.removePrefix(prefix);
    // Multipart uploads interrupted by a crash (commit or putBlob) are invisible but hold storage.
    await this.call('ListMultipartUploads', async () => {
      for await (const upload of this.client.listIncompleteUploads(this.bucket, prefix, true) as AsyncIterable<{
        key: string;
        uploadId: string;
      }>) {
        await this.client.abortMultipartUpload(this.bucket, upload.key, upload.uploadId).catch((err: unknown) => {
          if (errorCode(err) !== 'NoSuchUpload') throw err;
        });
      }
    });
  }

  async beginUpload(registryId: string): Promise<UploadHandle> {
    this.assertOpen();
    assertRegistryId(registryId);
    const uploadId = randomUUID();
    await this.saveState(registryId, uploadId, newUploadState(new Date()));
    this.hashers.start(uploadKey(registryId, uploadId));
    return { uploadId };
  }

  async appendUpload(registryId: string, uploadId: string, body: Readable, expectedOffset: number): Promise<number> {
    const state = await this.loadState(registryId, uploadId);
    if (expectedOffset !== state.size) throw new UploadOffsetMismatchError(expectedOffset, state.size);
    const key = uploadKey(registryId, uploadId);
    const running = this.hashers.at(key, state.size);
    const prefix = uploadPrefix(registryId, uploadId);

    const last = state.segments.at(-1);
    const open = last !== undefined && last.size < this.partSize ? last : undefined;
    const kept = open ? state.segments.slice(0, -1) : state.segments;
    const added: S3Segment[] = [];
    let nextSeq = state.nextSeq;
    let received = 0;

    const writeSegment = async (bytes: Buffer): Promise<void> => {
      if (kept.length + added.length >= S3_MAX_PARTS) throw new UploadTooLargeError(S3_MAX_PARTS * this.partSize);
      const seq = nextSeq++;
      added.push({ seq, size: bytes.length });
      await this.call('PutObject', () => this.putBuffer(segmentKey(prefix, seq), bytes));
    };
    const bodyChunks = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of bufferChunks(body)) {
        if (chunk.length === 0) continue;
        running?.hash.update(chunk);
        received += chunk.length;
        yield chunk;
      }
    };
    // The open last segment is re-read (it is smaller than a part) only once the body has bytes to add to it.
    const loadOpen = open ? () => this.readObject(segmentKey(prefix, open.seq), open.size) : undefined;

    const cutter = new PartCutter(this.partSize);
    try {
      await uploadParts(prependOnFirstChunk(bodyChunks(), loadOpen), cutter, writeSegment);
      const rest = cutter.flush();
      if (rest.length > 0) await writeSegment(rest);
    } catch (err) {
      this.hashers.forget(key);
      throw err;
    }
    if (received === 0) return state.size;

    const next: S3UploadState = { ...state, size: state.size + received, segments: [...kept, ...added], nextSeq };
    try {
      await this.saveState(registryId, uploadId, next);
    } catch (err) {
      this.hashers.forget(key);
      throw err;
    }
    if (running) running.offset = next.size;
    if (open) await this.removeQuietly([segmentKey(prefix, open.seq)]);
    return next.size;
  }

  async uploadStatus(registryId: string, uploadId: string): Promise<UploadStatus> {
    const state = await this.loadState(registryId, uploadId);
    return { size: state.size, startedAt: new Date(state.startedAt) };
  }

  async commitUpload(registryId: string, uploadId: string, digest: string): Promise<BlobInfo> {
    this.assertOpen();
    const parsed = parseDigest(digest);
    const state = await this.loadState(registryId, uploadId);
    const key = uploadKey(registryId, uploadId);
    const prefix = uploadPrefix(registryId, uploadId);
    const actual =
      this.hashers.digestIfComplete(key, state.size, parsed.algorithm) ??
      (await this.hashSegments(prefix, state, parsed.algorithm));
    if (actual !== parsed.hex) {
      throw new DigestMismatchError(parsed.digest, formatDigest(parsed.algorithm, actual), state.size);
    }
    const finalKey = blobPath(registryId, parsed);
    if ((await this.objectSize(finalKey)) !== state.size) {
      await this.assemble(prefix, state, finalKey);
    }
    this.hashers.forget(key);
    // The blob is visible and verified: the commit has succeeded. A failed clean-up leaves objects that
    // listUploads reports, so expiry removes them later.
    await this.removeUploadObjects(registryId, uploadId).catch(() => undefined);
    return { digest: parsed.digest, size: state.size };
  }

  async abortUpload(registryId: string, uploadId: string): Promise<void> {
    this.assertOpen();
    assertRegistryId(registryId);
    if (!isWellFormedUploadId(uploadId)) return;
    this.hashers.forget(uploadKey(registryId, uploadId));
    await this.removeUploadObjects(registryId, uploadId);
  }

  async listUploads(olderThan: Date): Promise<UploadRef[]> {
    this.assertOpen();
    const registries = (await this.listChildren(REGISTRIES_PREFIX)).filter((id) => {
      try {
        assertRegistryId(id);
        return true;
      } catch {
        return false;
      }
    });
    const perRegistry = await mapLimit(registries, LIST_CONCURRENCY, async (registryId) => {
      const uploads = new Map<string, { hasState: boolean; firstModified: number }>();
      const prefix = uploadsPrefix(registryId);
      await this.call('ListObjectsV2', async () => {
        uploads.clear();
        for await (const item of this.listObjects(prefix, true)) {
          const [uploadId, ...rest] = item.name.slice(prefix.length).split('/');
          if (!uploadId || !isWellFormedUploadId(uploadId)) continue;
          const entry = uploads.get(uploadId) ?? { hasState: false, firstModified: Number.POSITIVE_INFINITY };
          entry.hasState ||= rest.join('/') === STATE_FILE;
          entry.firstModified = Math.min(entry.firstModified, item.lastModified?.getTime() ?? 0);
          uploads.set(uploadId, entry);
        }
      });
      const found = await mapLimit([...uploads.entries()], LIST_CONCURRENCY, async ([uploadId, entry]) => {
        let startedAt = entry.firstModified;
        if (entry.hasState) {
          try {
            startedAt = new Date((await this.loadState(registryId, uploadId)).startedAt).getTime();
          } catch (err) {
            if (err instanceof UploadNotFoundError) return []; // committed or aborted meanwhile
            if (err instanceof StorageUnavailableError) throw err;
            // An unreadable state (torn by hand, unknown version): judge the leftover by its objects' age.
          }
        }
        return startedAt < olderThan.getTime() ? [{ registryId, uploadId }] : [];
      });
      return found.flat();
    });
    return perRegistry.flat();
  }

  async putBlob(registryId: string, body: Readable, digest: string): Promise<BlobInfo> {
    this.assertOpen();
    assertRegistryId(registryId);
    const parsed = parseDigest(digest);
    const finalKey = blobPath(registryId, parsed);
    const hash = createDigestHash(parsed.algorithm);
    let size = 0;
    const chunks = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of bufferChunks(body)) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    };
    const verify = (): void => {
      const actual = hash.digest('hex');
      if (actual !== parsed.hex)
        throw new DigestMismatchError(parsed.digest, formatDigest(parsed.algorithm, actual), size);
    };

    if ((await this.objectSize(finalKey)) !== undefined) {
      // Already stored: verify the caller's bytes anyway (it asked us to store exactly these), upload nothing.
      for await (const _chunk of chunks()) {
        // drained for the hash
      }
      verify();
      return { digest: parsed.digest, size };
    }

    let multipartId: string | undefined;
    const parts: Array<{ part: number; etag: string }> = [];
    const uploadPart = async (bytes: Buffer): Promise<void> => {
      if (parts.length >= S3_MAX_PARTS) throw new UploadTooLargeError(S3_MAX_PARTS * this.partSize);
      multipartId ??= await this.call('CreateMultipartUpload', () =>
        this.client.initiateNewMultipartUpload(this.bucket, finalKey, {}),
      );
      const uploadId = multipartId;
      const part = parts.length + 1;
      const { etag } = await this.call('UploadPart', () =>
        this.client.uploadPart(
          { bucketName: this.bucket, objectName: finalKey, uploadID: uploadId, partNumber: part, headers: {} },
          bytes,
        ),
      );
      parts.push({ part, etag: requireEtag(etag, 'UploadPart') });
    };
    const cutter = new PartCutter(this.partSize);
    try {
      await uploadParts(chunks(), cutter, uploadPart);
      const rest = cutter.flush();
      verify();
      if (multipartId === undefined) {
        // The whole blob in one request: when its digest is a SHA-256 it is also the payload's, which signs it.
        const payloadSha256 = parsed.algorithm === 'sha256' ? parsed.hex : undefined;
        await this.call('PutObject', () => this.putBuffer(finalKey, rest, payloadSha256));
      } else {
        if (rest.length > 0) await uploadPart(rest);
        const uploadId = multipartId;
        await this.call(
          'CompleteMultipartUpload',
          () => this.client.completeMultipartUpload(this.bucket, finalKey, uploadId, parts),
          false,
        );
      }
      return { digest: parsed.digest, size };
    } catch (err) {
      if (multipartId !== undefined) await this.abortMultipartQuietly(finalKey, multipartId);
      throw err;
    }
  }

  async ping(): Promise<void> {
    this.assertOpen();
    let exists: boolean;
    try {
      exists = await withDeadline(
        this.pingClient.bucketExists(this.bucket),
        PING_DEADLINE_MS,
        () => new Error(`no answer within ${PING_DEADLINE_MS} ms`),
      );
    } catch (err) {
      throw new StorageUnavailableError(this.dependency, describeError(err), { cause: err });
    }
    if (!exists) throw new StorageUnavailableError(this.dependency, `bucket "${this.bucket}" does not exist`);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.hashers.clear();
      for (const agent of this.agents) agent.destroy();
    }
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new StorageUnavailableError(this.dependency, 'the store is closed');
  }

  /**
   * Runs one S3 call: retries it (when `retry`) after transient failures with short back-offs, and turns
   * "cannot reach / cannot use S3" failures into StorageUnavailableError. Other errors (NoSuchKey, ...) pass
   * through untouched for the caller to interpret.
   */
  private async call<T>(operation: string, fn: () => Promise<T>, retry = true): Promise<T> {
    this.assertOpen();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const kind = classifyS3Error(err);
        if (kind === 'transient' && retry && attempt < this.maxRetries && !this.closed) {
          await sleep(Math.min(1000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
          continue;
        }
        if (kind !== 'other' || this.closed) {
          throw new StorageUnavailableError(this.dependency, `${operation}: ${describeError(err)}`, { cause: err });
        }
        throw err;
      }
    }
  }

  private async createBucketIfMissing(): Promise<void> {
    const exists = await this.call('HeadBucket', () => this.client.bucketExists(this.bucket));
    if (exists) return;
    try {
      await this.call('CreateBucket', () => this.client.makeBucket(this.bucket, this.region));
    } catch (err) {
      if (errorCode(err) !== 'BucketAlreadyOwnedByYou') throw err; // another process won the race
    }
  }

  /** The object's size, or undefined when it does not exist. */
  private async objectSize(objectKey: string): Promise<number | undefined> {
    try {
      const stat = await this.call('HeadObject', () => this.client.statObject(this.bucket, objectKey));
      return stat.size;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'NotFound' || code === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** Reads a small object whole; fails if it is not exactly `expectedSize` bytes (when given) or too large. */
  private async readObject(objectKey: string, expectedSize?: number): Promise<Buffer> {
    const limit = expectedSize ?? MAX_STATE_BYTES;
    return this.call('GetObject', async () => {
      const stream = await this.client.getObject(this.bucket, objectKey);
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of bufferChunks(stream)) {
        length += chunk.length;
        if (length > limit) {
          stream.destroy();
          throw new Error(`object ${objectKey} is larger than ${limit} bytes`);
        }
        chunks.push(chunk);
      }
      if (expectedSize !== undefined && length !== expectedSize) {
        throw new Error(`object ${objectKey} has ${length} bytes, expected ${expectedSize}`);
      }
      return Buffer.concat(chunks, length);
    });
  }

  private async loadState(registryId: string, uploadId: string): Promise<S3UploadState> {
    this.assertOpen();
    assertRegistryId(registryId);
    if (!isWellFormedUploadId(uploadId)) throw new UploadNotFoundError(registryId, uploadId);
    let raw: Buffer;
    try {
      raw = await this.readObject(stateKey(uploadPrefix(registryId, uploadId)));
    } catch (err) {
      const code = errorCode(err);
      if (code === 'NoSuchKey' || code === 'NotFound') throw new UploadNotFoundError(registryId, uploadId);
      throw err;
    }
    return parseUploadState(raw.toString('utf8'));
  }

  /**
   * PutObject of a buffer, as ONE request. Not minio's `putObject`, which copies the buffer and computes its MD5
   * as well as its SHA-256: the SigV4 payload hash (on plain HTTP; over HTTPS minio signs `UNSIGNED-PAYLOAD`) is
   * computed here only when the caller does not already know it.
   */
  private async putBuffer(objectKey: string, bytes: Buffer, sha256Hex?: string): Promise<void> {
    const payloadHash = this.client.enableSHA256 ? (sha256Hex ?? createHash('sha256').update(bytes).digest('hex')) : '';
    const res = await this.client.makeRequestStreamAsync(
      { method: 'PUT', bucketName: this.bucket, objectName: objectKey, headers: { 'content-length': String(bytes.length) } },
      bytes,
      payloadHash,
      [200],
      '',
    );
    res.resume();
    await finished(res);
  }

  private async saveState(registryId: string, uploadId: string, state: S3UploadState): Promise<void> {
    const body = Buffer.from(JSON.stringify(state));
    await this.call('PutObject', () =>
      this.client.putObject(this.bucket, stateKey(uploadPrefix(registryId, uploadId)), body, body.length, {
        'Content-Type': 'application/json',
      }),
    );
  }

  /** The slow path: streams the upload's segments back, in order, through a fresh hash. */
  private async hashSegments(prefix: string, state: S3UploadState, algorithm: DigestAlgorithm): Promise<string> {
    const hash = createDigestHash(algorithm);
    for (const segment of state.segments) {
      // Not retried: a failure half-way through has already fed part of the segment into the hash.
      const length = await this.call(
        'GetObject',
        async () => {
          let read = 0;
          const stream = await this.client.getObject(this.bucket, segmentKey(prefix, segment.seq));
          for await (const chunk of bufferChunks(stream)) {
            hash.update(chunk);
            read += chunk.length;
          }
          return read;
        },
        false,
      );
      if (length !== segment.size) {
        throw new Error(`upload segment ${segment.seq} has ${length} bytes, its state says ${segment.size}`);
      }
    }
    return hash.digest('hex');
  }

  /** Server-side assembly of the segments into `finalKey`, which only appears (atomically) once complete. */
  private async assemble(prefix: string, state: S3UploadState, finalKey: string): Promise<void> {
    const { segments } = state;
    if (segments.length === 0) {
      await this.call('PutObject', () => this.client.putObject(this.bucket, finalKey, Buffer.alloc(0), 0));
    } else if (segments.length === 1) {
      const source = `/${this.bucket}/${segmentKey(prefix, segments[0]?.seq ?? 0)}`;
      await this.call('CopyObject', () => this.client.copyObject(this.bucket, finalKey, source));
    } else {
      const multipartId = await this.call('CreateMultipartUpload', () =>
        this.client.initiateNewMultipartUpload(this.bucket, finalKey, {}),
      );
      try {
        const parts = await mapLimit(segments, COPY_CONCURRENCY, async (segment, index) => {
          const { etag } = await this.call('UploadPartCopy', () =>
            this.client.uploadPart(
              {
                bucketName: this.bucket,
                objectName: finalKey,
                uploadID: multipartId,
                partNumber: index + 1,
                headers: { 'x-amz-copy-source': `/${this.bucket}/${segmentKey(prefix, segment.seq)}` },
              },
              Buffer.alloc(0),
            ),
          );
          return { part: index + 1, etag: requireEtag(etag, 'UploadPartCopy') };
        });
        await this.call(
          'CompleteMultipartUpload',
          () => this.client.completeMultipartUpload(this.bucket, finalKey, multipartId, parts),
          false,
        );
      } catch (err) {
        await this.abortMultipartQuietly(finalKey, multipartId);
        throw err;
      }
    }
    const assembled = await this.objectSize(finalKey);
    if (assembled !== state.size) {
      throw new Error(`assembled blob has ${String(assembled)} bytes, the upload holds ${state.size}`);
    }
  }

  /** Deletes state.json first (the upload stops existing at once), then everything else under its prefix. */
  private async removeUploadObjects(registryId: string, uploadId: string): Promise<void> {
    const prefix = uploadPrefix(registryId, uploadId);
    await this.call('DeleteObject', () => this.client.removeObject(this.bucket, stateKey(prefix)));
    await this.removePrefix(prefix);
  }

  private async removePrefix(prefix: string): Promise<void> {
    await this.call('DeleteObjects', async () => {
      let batch: string[] = [];
      for await (const item of this.listObjects(prefix, true)) {
        batch.push(item.name);
        if (batch.length === DELETE_BATCH) {
          await this.removeObjects(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await this.removeObjects(batch);
    });
  }

  private async removeObjects(keys: string[]): Promise<void> {
    // DeleteObjects answers 200 with one <Error> entry per key it could not delete (absent keys are not errors).
    const failed = (await this.client.removeObjects(this.bucket, keys)).filter((entry) => entry != null);
    if (failed.length > 0) throw new Error(`could not delete ${failed.length} of ${keys.length} objects`);
  }

  private async removeQuietly(keys: string[]): Promise<void> {
    await this.removeObjects(keys).catch(() => undefined);
  }

  private async abortMultipartQuietly(objectKey: string, multipartId: string): Promise<void> {
    await this.client.abortMultipartUpload(this.bucket, objectKey, multipartId).catch(() => undefined);
  }

  /** Object entries under `prefix` (recursive), or the first path segments below it (not recursive). */
  private async *listObjects(
    prefix: string,
    recursive: boolean,
  ): AsyncGenerator<{ name: string; lastModified?: Date; prefix?: string }> {
    const stream = this.client.listObjectsV2(this.bucket, prefix, recursive);
    for await (const item of stream as AsyncIterable<{ name?: string; prefix?: string; lastModified?: Date }>) {
      if (item.name !== undefined) yield { name: item.name, lastModified: item.lastModified };
      else if (item.prefix !== undefined) yield { name: '', prefix: item.prefix };
    }
  }

  /** The names of the "folders" directly under `prefix`. */
  private async listChildren(prefix: string): Promise<string[]> {
    return this.call('ListObjectsV2', async () => {
      const children: string[] = [];
      for await (const item of this.listObjects(prefix, false)) {
        if (item.prefix) children.push(item.prefix.slice(prefix.length).replace(/\/$/, ''));
      }
      return children;
    });
  }
}

/** Builds an S3BlobStore and creates its bucket when missing (rejects StorageUnavailableError if S3 is down). */
export async function createS3BlobStore(options: S3BlobStoreOptions): Promise<S3BlobStore> {
  const store = new S3BlobStore(options);
  try {
    await store.ensureReady();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

const STATE_FILE = 'state.json';

function stateKey(prefix: string): string {
  return `${prefix}${STATE_FILE}`;
}

function segmentKey(prefix: string, seq: number): string {
  return `${prefix}segments/${String(seq).padStart(10, '0')}`;
}

function uploadKey(registryId: string, uploadId: string): string {
  return `${registryId}/${uploadId}`;
}

function requireEtag(etag: string | undefined, operation: string): string {
  if (!etag) throw new Error(`${operation}: S3 answered without an ETag`);
  return etag;
}

function parseEndpoint(value: string | undefined, name: string): Endpoint {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new StorageArgumentError(`s3 blob store: ${name} must be a URL such as http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StorageArgumentError(`s3 blob store: ${name} must use http: or https:`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new StorageArgumentError(
      `s3 blob store: ${name} must be scheme://host[:port] only (no path, query or credentials)`,
    );
  }
  const useSSL = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : useSSL ? 443 : 80;
  return { host, port, useSSL, url: `${url.protocol}//${url.host}` };
}

function integerOption(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageArgumentError(`s3 blob store: ${name} must be an integer from ${min} to ${max}`, {
      [name]: value,
    });
  }
  return value;
}

/**
 * Feeds `chunks` through `cutter` and hands every whole part to `upload`, with one upload in flight while the
 * next part fills: memory stays at about two parts, and reading the body overlaps with sending to S3. The
 * body is not read further while two parts are waiting (backpressure reaches the client).
 */
async function uploadParts(
  chunks: AsyncIterable<Buffer>,
  cutter: PartCutter,
  upload: (part: Buffer) => Promise<void>,
): Promise<void> {
  let inFlight: Promise<void> | undefined;
  let sending: Buffer | undefined;
  try {
    for await (const chunk of chunks) {
      for (const part of cutter.push(chunk)) {
        if (inFlight) await inFlight;
        // The previous part is uploaded and no longer referenced: its buffer takes the next part's bytes.
        if (sending) cutter.recycle(sending);
        sending = part;
        inFlight = upload(part);
        inFlight.catch(() => undefined); // observed by the next await; keeps it from being "unhandled" meanwhile
      }
    }
    if (inFlight) await inFlight;
  } catch (err) {
    if (inFlight) await inFlight.catch(() => undefined);
    throw err;
  }
}

/** Yields `load()`'s bytes before the first non-empty chunk (never when `chunks` is empty), then the chunks. */
async function* prependOnFirstChunk(
  chunks: AsyncIterable<Buffer>,
  load: (() => Promise<Buffer>) | undefined,
): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of chunks) {
    if (first) {
      first = false;
      if (load) yield await load();
    }
    yield chunk;
  }
}
