import { Inject, Injectable } from '@nestjs/common';
import { isRepositoryName, isSupportedAlgorithm, parseContentRange, parseDigest, RegistryError } from '@berth/oci';
import {
  BLOB_STORES,
  isStorageError,
  type BlobInfo,
  type BlobStore,
  type BlobStores,
  type UploadOffsetMismatchError,
} from '@berth/storage';
import { berthMetrics, type RegistryOutcome } from '@berth/telemetry';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { RegistryRef } from '../registry/registry-ref';
import { RepositoryRecords } from '../registry/repository-records.service';
import { queryParam, type RouteOf, type V2Request } from '../routing/v2-request';
import { mapErrors, toRegistryError } from './blob-errors.util';
import { BlobLinks } from './blob-links.service';
import { contentLength, drainBody, hasBody, requestBody, type LengthGuard } from './request-body.util';
import { UploadLocks } from './upload-lock.service';
import { storageNotBegun, UploadSessions, type UploadSession } from './upload-sessions.service';

/**
 * Blob uploads, distribution-spec v1.1 §"Pushing blobs" (end-4a/4b/4c, end-5, end-6, end-11, end-13, end-14):
 * POST starts a session (or uploads monolithically with `?digest=`, or mounts with `?mount=`), PATCH appends a
 * chunk (with `Content-Range`) or a stream (without), GET reports the progress, PUT `?digest=` closes it
 * (optionally with a last chunk), DELETE cancels it.
 *
 * Order of effects ("nothing lost"): bytes go to storage first; storage verifies the digest over ALL bytes;
 * only then, in ONE transaction, the blob row, its region and the repository link are written and the session
 * deleted. A failed request changes nothing a client can see. Sessions live in Postgres and their bytes in
 * storage, so any process (also one started after a restart) continues an upload. The operations on one upload
 * are serialised by {@link UploadLocks}.
 */
@Injectable()
export class UploadsHandler {
  /** Repository creations in flight, by `<registryId>/<name>` (see createRepositoryOnce). */
  private readonly creating = new Map<string, Promise<void>>();

  constructor(
    private readonly sessions: UploadSessions,
    private readonly links: BlobLinks,
    private readonly locks: UploadLocks,
    private readonly repositories: RepositoryRecords,
    @Inject(BLOB_STORES) private readonly stores: BlobStores,
  ) {}

  /**
   * `POST /v2/<name>/blobs/uploads/`:
   * - `?mount=<digest>&from=<repo>`: 201 when the blob is linked to `from` in this registry (a link row, no copy);
   *   without `from`, any repository of this registry holding it qualifies (see BlobLinks.mount); otherwise the
   *   spec's fallback, a new session (202).
   * - `?digest=<digest>` with the whole blob as body: monolithic upload → 201.
   * - otherwise a new session → 202 with `Location`, `Docker-Upload-UUID`, `Range: 0-0`.
   * `?digest-algorithm=` (spec main) must name sha256 or sha512 (both are always computed or verified).
   */
  async start(ctx: V2Request<RouteOf<'uploads'>>): Promise<void> {
    const { registry, route, req, reply, query } = ctx;
    const algorithm = queryParam(query, 'digest-algorithm');
    if (algorithm !== undefined && !isSupportedAlgorithm(algorithm)) {
      throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm.slice(0, 40)}`);
    }
    const mount = queryParam(query, 'mount');
    if (mount !== undefined) {
      const digest = parseDigest(mount).value;
      const from = queryParam(query, 'from');
      if (from !== undefined && !isRepositoryName(from)) {
        throw new RegistryError('NAME_INVALID', 'invalid repository name', { from: from.slice(0, 300) });
      }
      // A mount reads its source: only from repositories the caller may pull (else the spec's fallback, an upload).
      const mayPull = ctx.access.canEverywhere('pull') ? 'all' : (repo: string) => ctx.access.can('pull', repo);
      if ((from === undefined || ctx.access.can('pull', from)) && (await this.links.mount(registry.id, route.name, digest, from, mayPull))) {
        drainBody(req);
        await blobCreated(reply, route.name, digest);
        return;
      }
    }

    const digestParam = queryParam(query, 'digest');
    if (digestParam !== undefined && mount === undefined) {
      const digest = parseDigest(digestParam).value;
      await this.assertWritable(registry, route.name);
      const store = this.stores.get(registry.location);
      const body = requestBody(req, contentLength(req));
      const info = await withBody(body, store.putBlob(registry.id, body, digest));
      if (!(await this.links.recordAndLinkExisting(registry.id, route.name, info, registry.location))) {
        await this.links.recordAndLink(registry.id, route.name, info, registry.location);
      }
      // The upload began with this request.
      recordUploadDuration(reply.elapsedTime / 1000, 'success', registry.location);
      await blobCreated(reply, route.name, digest);
      return;
    }

    drainBody(req);
    // No storage upload yet: the first append begins one, and the usual monolithic push (one PUT with every
    // byte) never needs one (its PUT stores the blob directly).
    let session = await this.sessions.createIfWritable(registry.id, route.name, registry.location);
    if (session === 'missing') {
      await this.createRepositoryOnce(registry, route.name);
      session = await this.sessions.create(registry.id, route.name, registry.location);
    }
    if (session === 'read-only') throw writeProtected(route.name);
    await reply
      .status(202)
      .headers(uploadHeaders(session, 0))
      .header('Content-Length', '0')
      .send();
  }

  /** `GET <upload>` → 204 with `Location`, `Range: 0-<last>` (`0-0` when empty, as distribution) and the UUID. */
  async status(ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    const session = await this.session(ctx);
    const size = await this.currentSize(this.storeOf(session), session);
    await ctx.reply.status(204).headers(uploadHeaders(session, size)).send();
  }

  /**
   * `PATCH <upload>`: with `Content-Range: <start>-<end>` the chunk must start at the current size (else 416
   * RANGE_INVALID with the current `Range`, nothing changed) and `Content-Length` must equal its length (else
   * SIZE_INVALID, as distribution); without it (streamed upload) the body is appended at the current size.
   * → 202 with `Location`, `Range: 0-<end>`, `Docker-Upload-UUID`.
   */
  async patch(ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    const { req, reply } = ctx;
    const session = await this.session(ctx);
    const range = chunkRange(ctx);
    const declared = contentLength(req);
    if (range && declared !== undefined && declared !== range.end - range.start + 1) {
      throw new RegistryError('SIZE_INVALID', 'Content-Length does not match Content-Range', {
        contentLength: declared,
        contentRange: `${range.start}-${range.end}`,
      });
    }
    const store = this.storeOf(session);
    const size = await this.locked(session, reply, async () => {
      const expected = range ? range.end - range.start + 1 : declared;
      if (storageNotBegun(session)) {
        if (range && range.start !== 0) throw outOfOrder(reply, session, 0);
        return this.firstAppend(store, session, requestBody(req, expected), reply);
      }
      // The row's offset stands in for the upload's size (no stat per chunk): storage checks it before it reads a
      // byte. Only a chunk that disagrees with it asks storage first, so that a refused chunk is never read.
      if (range && range.start !== session.offsetBytes) {
        const current = await this.currentSize(store, session);
        if (range.start !== current) throw outOfOrder(reply, session, current);
      }
      const body = requestBody(req, expected);
      const next = await this.append(store, session, body, range?.start ?? session.offsetBytes, !range, reply);
      await this.sessions.recordOffset(session.id, session.registryId, next);
      return next;
    });
    await reply.status(202).headers(uploadHeaders(session, size)).header('Content-Length', '0').send();
  }

  /**
   * Appends `body` at `offset` (the row's offset or the chunk's start). When storage holds a different size (the row
   * lags: a crash or a database failure right after an earlier append), nothing was read: a streamed body (`streamed`)
   * is appended at the real size, a chunk is refused with 416 and the upload's real state, its body discarded.
   */
  private async append(
    store: BlobStore,
    session: UploadSession,
    body: LengthGuard,
    offset: number,
    streamed: boolean,
    reply: FastifyReply,
  ): Promise<number> {
    const { registryId, storageUploadId } = session;
    try {
      return await store.appendUpload(registryId, storageUploadId, body, offset);
    } catch (err) {
      if (body.error) throw body.error;
      if (!isStorageError(err, 'UPLOAD_OFFSET_MISMATCH')) throw toRegistryError(err);
      const { currentSize } = err as UploadOffsetMismatchError;
      if (streamed) return withBody(body, store.appendUpload(registryId, storageUploadId, body, currentSize));
      body.discard();
      throw outOfOrder(reply, session, currentSize);
    }
  }

  /**
   * The session's first append: begins its storage upload, appends, and records both in one statement. When
   * another request began one meanwhile (this request read the session before that one's append finished),
   * this one's bytes are discarded and it is answered 416 with the upload's current state.
   */
  private async firstAppend(store: BlobStore, session: UploadSession, body: LengthGuard, reply: FastifyReply): Promise<number> {
    const { uploadId } = await withBody(body, store.beginUpload(session.registryId));
    const discard = (): Promise<void> => store.abortUpload(session.registryId, uploadId).catch(() => undefined);
    let next: number;
    try {
      next = await withBody(body, store.appendUpload(session.registryId, uploadId, body, 0));
      if (await this.sessions.recordBegun(session.id, session.registryId, uploadId, next)) return next;
    } catch (err) {
      await discard();
      throw err;
    }
    await discard();
    const current = await this.session({ registryId: session.registryId, name: session.repositoryName, id: session.id });
    throw outOfOrder(reply, current, await this.currentSize(store, current), 'the upload is in use by another request');
  }

  /**
   * `PUT <upload>?digest=<digest>`, optionally with a last chunk: storage verifies the digest over every byte of
   * the upload; then the blob is recorded and linked in one transaction → 201 with `Location` and
   * `Docker-Content-Digest`. A mismatch is DIGEST_INVALID with nothing linked, and the upload is discarded, as
   * distribution does (its `PutBlobUploadComplete` cancels the upload when the commit fails).
   */
  async complete(ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    const { registry, route, req, reply, query } = ctx;
    const session = await this.session(ctx);
    const digestParam = queryParam(query, 'digest');
    if (digestParam === undefined) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required');
    const digest = parseDigest(digestParam).value;
    const range = chunkRange(ctx);
    const declared = contentLength(req);
    const store = this.storeOf(session);
    const notBegun = storageNotBegun(session);
    await this.locked(session, reply, async () => {
      let whole = false;
      let body: LengthGuard | undefined;
      if (range || hasBody(req)) {
        const current = await this.currentSize(store, session);
        if (range && range.start !== current) throw outOfOrder(reply, session, current);
        body = requestBody(req, range ? range.end - range.start + 1 : declared);
        // POST then one PUT with every byte (the usual "monolithic" push): the body goes straight to its
        // content-addressed place (S3: one multipart upload, no segments, state or server-side assembly).
        whole = current === 0;
        if (!whole) await withBody(body, store.appendUpload(session.registryId, session.storageUploadId, body, current));
      }
      const info = await this.verified(session, body, () =>
        whole && body
          ? store.putBlob(session.registryId, body, digest)
          : notBegun
            ? store.putBlob(session.registryId, Readable.from([]), digest) // nothing was ever appended: the empty blob
            : store.commitUpload(session.registryId, session.storageUploadId, digest),
      );
      if (!(await this.links.recordAndLinkExisting(registry.id, route.name, info, session.region, session.id))) {
        await this.links.recordAndLink(registry.id, route.name, info, session.region, (em) =>
          this.sessions.delete(session.id, session.registryId, em),
        );
      }
      // A storage upload begun by an empty PATCH and then bypassed by a whole-body PUT.
      if (whole && !notBegun) await store.abortUpload(session.registryId, session.storageUploadId).catch(() => undefined);
    });
    recordUploadDuration(secondsSince(session.startedAt), 'success', session.region);
    await blobCreated(reply, route.name, digest);
  }

  /**
   * Runs the step that verifies the digest over every byte (a commit, or a whole-body put). A mismatch discards the
   * upload, as distribution does (its `PutBlobUploadComplete` cancels the upload when the commit fails); a body
   * that broke its declared length is SIZE_INVALID.
   */
  private async verified(session: UploadSession, body: LengthGuard | undefined, step: () => Promise<BlobInfo>): Promise<BlobInfo> {
    try {
      return await step();
    } catch (err) {
      if (body?.error) throw body.error;
      if (isStorageError(err, 'DIGEST_MISMATCH')) {
        // Best effort: the expiry sweep removes what a failure here leaves behind.
        const store = this.storeOf(session);
        if (!storageNotBegun(session)) await store.abortUpload(session.registryId, session.storageUploadId).catch(() => undefined);
        await this.sessions.delete(session.id, session.registryId).catch(() => undefined);
        recordUploadDuration(secondsSince(session.startedAt), 'client_error', session.region);
      }
      throw toRegistryError(err);
    }
  }

  /** `DELETE <upload>` → 204: the stored bytes and the session are removed (spec main end-14). */
  async cancel(ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    const session = await this.session(ctx);
    const store = this.storeOf(session);
    const outcome = await this.locks.withLock(session.id, async () => {
      if (!storageNotBegun(session)) await mapErrors(store.abortUpload(session.registryId, session.storageUploadId));
      await this.sessions.delete(session.id, session.registryId);
    });
    if (outcome.busy) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'the upload is in use by another request', { uploadId: session.id }, 400);
    }
    await ctx.reply.status(204).send();
  }

  /** The session the URL names, in this registry and repository, else BLOB_UPLOAD_UNKNOWN. */
  private async session(
    ctx: V2Request<RouteOf<'upload'>> | { registryId: string; name: string; id: string },
  ): Promise<UploadSession> {
    const [registryId, name, id, req] =
      'route' in ctx ? [ctx.registry.id, ctx.route.name, ctx.route.uploadId, ctx.req] : [ctx.registryId, ctx.name, ctx.id];
    // The request's own read by the limits hook, when it made one (a PATCH or PUT): no second statement.
    const session = await this.sessions.find(registryId, name, id, req);
    if (!session) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    return session;
  }

  private storeOf(session: UploadSession): BlobStore {
    return this.stores.get(session.region);
  }

  /** The upload's durable size according to storage (the authority; the row's offset is only a hint). */
  private async currentSize(store: BlobStore, session: UploadSession): Promise<number> {
    if (storageNotBegun(session)) return 0;
    const status = await mapErrors(store.uploadStatus(session.registryId, session.storageUploadId));
    return status.size;
  }

  /**
   * Runs `work` holding the upload's lock. A busy upload (another request is appending or committing) is
   * answered 416 with the durable `Range`: the client re-reads the state and continues.
   */
  private async locked<T>(session: UploadSession, reply: FastifyReply, work: () => Promise<T>): Promise<T> {
    const outcome = await this.locks.withLock(session.id, work).catch((err: unknown) => {
      throw toRegistryError(err);
    });
    if (!outcome.busy) return outcome.value;
    const size = await this.currentSize(this.storeOf(session), session);
    throw outOfOrder(reply, session, size, 'the upload is in use by another request');
  }

  /**
   * {@link assertWritable} (which creates the repository) once for all the uploads that start at the same time in a
   * repository that does not exist yet (a client pushing an image's layers at once into a new repository): the
   * others wait for the first one's statements instead of each running its own (and queueing on its row lock).
   */
  private createRepositoryOnce(registry: RegistryRef, name: string): Promise<void> {
    const key = `${registry.id}/${name}`;
    const pending = this.creating.get(key);
    if (pending) return pending;
    const created = this.assertWritable(registry, name);
    const forget = (): void => {
      if (this.creating.get(key) === created) this.creating.delete(key);
    };
    // A creation that succeeded answers for a moment longer: an upload of the same burst whose session insert ran
    // before the creation committed comes here after it settled, and needs no statements of its own. A failure is
    // forgotten at once (the next upload tries again).
    created.then(() => setTimeout(forget, RECENT_CREATION_MS).unref(), forget);
    this.creating.set(key, created);
    return created;
  }

  /** A repository whose writes are disabled (ACR `writeEnabled: false`) refuses pushes with DENIED. */
  private async assertWritable(registry: RegistryRef, name: string): Promise<void> {
    const repo = await this.repositories.findOrCreate(registry.id, name);
    if (!repo.writeEnabled) throw writeProtected(name);
  }
}

/** How long a repository this process just created answers later uploads of its burst (see createRepositoryOnce). */
const RECENT_CREATION_MS = 2_000;

function writeProtected(name: string): RegistryError {
  return new RegistryError('DENIED', 'the repository is write-protected', { name });
}

/** The Content-Range of a chunk, undefined when absent (streamed upload). */
function chunkRange(ctx: V2Request): { start: number; end: number } | undefined {
  const h = ctx.req.headers['content-range'];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined ? undefined : parseContentRange(v);
}

/** 416 RANGE_INVALID with the upload's current state in `Range` and `Location`; sets the headers on `reply`. */
function outOfOrder(reply: FastifyReply, session: UploadSession, size: number, message?: string): RegistryError {
  reply.headers(uploadHeaders(session, size));
  return new RegistryError('RANGE_INVALID', message ?? 'chunk does not start at the end of the upload', {
    uploadedBytes: size,
  });
}

function uploadLocation(session: UploadSession): string {
  return `/v2/${session.repositoryName}/blobs/uploads/${session.id}`;
}

/** distribution-spec: `Range: 0-<last byte>`; distribution sends `0-0` for an empty upload. */
function uploadHeaders(session: UploadSession, size: number): Record<string, string> {
  return {
    Location: uploadLocation(session),
    Range: `0-${Math.max(0, size - 1)}`,
    'Docker-Upload-UUID': session.id,
  };
}

async function blobCreated(reply: FastifyReply, name: string, digest: string): Promise<void> {
  await reply
    .status(201)
    .header('Location', `/v2/${name}/blobs/${digest}`)
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', '0')
    .send();
}

/**
 * issue #7's upload duration (`berth.registry.upload.duration`): from the start of the upload session to the
 * request that ended it, a completed upload (`success`) or one discarded for a wrong digest (`client_error`).
 */
function recordUploadDuration(seconds: number, outcome: RegistryOutcome, region: string): void {
  berthMetrics().uploadFinished(seconds, { outcome, region });
}

function secondsSince(start: Date): number {
  return Math.max(0, (Date.now() - start.getTime()) / 1000);
}

/** Awaits a storage operation that consumes `body`; a body that broke its declared length is SIZE_INVALID. */
async function withBody<T>(body: LengthGuard, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (body.error) throw body.error;
    throw toRegistryError(err);
  }
}
