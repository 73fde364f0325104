import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';

/** Where the client's Content-Type of a data-plane request is kept once the header has been neutralised. */
const CLIENT_CONTENT_TYPE = Symbol('berth.clientContentType');

type TaggedRequest = IncomingMessage & { [CLIENT_CONTENT_TYPE]?: string | null };

const DATA_PLANE_PATH = /^\/v2(\/|$)/;

/**
 * Keeps every data-plane body raw. distribution-spec: a manifest is stored as the exact bytes received and
 * `Docker-Content-Digest` is their digest; blob bodies are streamed into storage while hashed. Fastify parses
 * `application/json` (and form) bodies itself, which would lose the original bytes and refuses an empty body
 * declared as JSON (crane sends `POST .../blobs/uploads/` that way). This Fastify `onRequest` hook runs before
 * content-type parsing: for any `/v2` request with a body type it moves the client's Content-Type aside and
 * presents the body as `application/octet-stream`, which the service runtime leaves unparsed, so handlers read the
 * raw stream whatever the client declared. The client's value is returned by `clientContentType`. (A plain hook
 * rather than a Nest middleware: middleware matching costs every request, pulls included, a few microseconds.)
 */
@Injectable()
export class RawBodyMiddleware implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (req, _reply, done) => {
      keepBodyRaw(req.raw, req.url);
      done();
    });
  }
}

/** Exposed for tests: what the hook does to one request. */
export function keepBodyRaw(req: IncomingMessage, url: string): void {
  if (req.headers['content-type'] !== undefined && DATA_PLANE_PATH.test(url.split('?')[0] ?? '')) {
    const tagged = req as TaggedRequest;
    tagged[CLIENT_CONTENT_TYPE] = req.headers['content-type'] ?? null;
    req.headers['content-type'] = 'application/octet-stream';
  }
}

/** The Content-Type the client sent (see RawBodyMiddleware), else the header as is. */
export function clientContentType(req: IncomingMessage): string | undefined {
  const tagged = req as TaggedRequest;
  if (CLIENT_CONTENT_TYPE in tagged) return tagged[CLIENT_CONTENT_TYPE] ?? undefined;
  return req.headers['content-type'];
}
