import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MAX_MANIFEST_BYTES, assertManifestSize, mediaTypeOfContentType } from '@berth/oci';
import { queryParams, type RouteOf, type V2Request } from '../routing/v2-request';
import { clientContentType } from '../routing/raw-body.middleware';
import { ManifestDeletes } from './manifest-deletes.service';
import { ManifestsService, type StoredManifest } from './manifests.service';
import { BodyTooLargeError, readCappedBody } from './read-capped-body.util';
import { eventRequestInfo } from './request-info.util';

/**
 * `/v2/<name>/manifests/<reference>`: GET/HEAD, PUT and DELETE (distribution-spec v1.1, end-3, end-7,
 * end-7b, end-9). Parsing and storage rules live in ManifestsService; this class shapes HTTP.
 */
@Injectable()
export class ManifestsHandler {
  constructor(
    private readonly manifests: ManifestsService,
    private readonly deletes: ManifestDeletes,
  ) {}

  /**
   * Answers the stored bytes with their stored media type (the simplest content negotiation every client
   * accepts: oci.md §E), `Docker-Content-Digest`, `Content-Length` (on HEAD too) and `Etag: "<digest>"`;
   * `If-None-Match` naming that Etag (or `*`) answers 304 with no body.
   */
  async get(ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    const answered = this.answer(ctx);
    if (answered) await answered;
  }

  /**
   * `get` without a promise when the manifest is in the ManifestCache (the pull fast path's way); a promise while it
   * is read from the database. The reply is sent, not awaited (Fastify finishes it on its own).
   */
  answer(ctx: V2Request<RouteOf<'manifest'>>): void | Promise<void> {
    const { registry, route, req, reply } = ctx;
    const head = req.method === 'HEAD';
    const m = this.manifests.read(registry.id, route.name, route.reference, !head);
    if (m instanceof Promise) return m.then((found) => sendManifest(req, reply, found, head));
    sendManifest(req, reply, m, head);
    return undefined;
  }

  /**
   * Reads the body byte-exact with a hard cap (MAX_MANIFEST_BYTES; beyond it 413 MANIFEST_INVALID without
   * reading further, and the connection is closed so the rest is never consumed), stores it, and answers
   * 201 with `Location: /v2/<name>/manifests/<digest>`, `Docker-Content-Digest`, `OCI-Subject` when the
   * manifest has a subject, and one `OCI-Tag` per `?tag=` accepted (distribution-spec main).
   */
  async put(ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    const { registry, route, req, reply } = ctx;
    const declared = req.headers['content-length'];
    let body: Buffer;
    try {
      body = await readCappedBody(req.raw, MAX_MANIFEST_BYTES, declared === undefined ? undefined : Number(declared));
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        reply.header('connection', 'close');
        assertManifestSize(err.size);
      }
      throw err;
    }
    const result = await this.manifests.put({
      registryId: registry.id,
      homeRegion: registry.location,
      repository: route.name,
      reference: route.reference,
      extraTags: queryParams(ctx.query, 'tag'),
      contentType: declaredManifestType(clientContentType(req.raw)),
      body,
      request: eventRequestInfo(req),
    });
    reply
      .status(201)
      .header('location', `/v2/${route.name}/manifests/${result.digest}`)
      .header('docker-content-digest', result.digest)
      .header('content-length', '0');
    if (result.subject) reply.header('oci-subject', result.subject);
    if (route.reference.includes(':') && result.tags.length > 0) reply.header('oci-tag', [...result.tags]);
    await reply.send();
  }

  /** 202 on success (distribution-spec end-9); see ManifestDeletes for tags, locks and events. */
  async delete(ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    const { registry, route, req, reply } = ctx;
    await this.deletes.deleteReference(registry, route.name, route.reference, eventRequestInfo(req));
    await reply.status(202).header('content-length', '0').send();
  }
}

/**
 * A bare `application/json` says nothing about which manifest this is: as distribution (`UnmarshalManifest`
 * treats "" and application/json alike), the body's own `mediaType` then decides. Any other type is passed
 * on, and parseManifest refuses one that contradicts the body.
 */
function declaredManifestType(contentType: string | undefined): string | undefined {
  return mediaTypeOfContentType(contentType) === 'application/json' ? undefined : contentType;
}

function sendManifest(req: FastifyRequest, reply: FastifyReply, m: StoredManifest, head: boolean): void {
  reply.header('docker-content-digest', m.digest).header('etag', `"${m.digest}"`);
  if (ifNoneMatch(req.headers['if-none-match'], m.digest)) {
    reply.status(304).send();
    return;
  }
  reply.status(200).header('content-type', m.mediaType).header('content-length', String(m.size));
  reply.send(head ? undefined : m.content);
}

/** RFC 9110 §13.1.2: `*` or a list of entity tags; weak tags compare equal for GET (weak comparison). */
function ifNoneMatch(header: string | undefined, digest: string): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const t = raw.trim().replace(/^W\//, '');
    return t === '*' || t === `"${digest}"` || t === digest;
  });
}
