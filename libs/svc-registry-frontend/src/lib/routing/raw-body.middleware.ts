import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the client's Content-Type of a data-plane request is kept once the header has been neutralised. */
const CLIENT_CONTENT_TYPE = Symbol('berth.clientContentType');

type TaggedRequest = IncomingMessage & { [CLIENT_CONTENT_TYPE]?: string | null };

const DATA_PLANE_PATH = /^\/v2(\/|$)/;

/**
 * Keeps every data-plane body raw. distribution-spec: a manifest is stored as the exact bytes received and
 * `Docker-Content-Digest` is their digest; blob bodies are streamed into storage while hashed. Fastify parses
 * `application/json` (and form) bodies itself, which would lose the original bytes and refuses an empty body
 * declared as JSON (crane sends `POST .../blobs/uploads/` that way). This middleware runs in the `onRequest`
 * phase, before content-type parsing: for any `/v2` request with a body type it moves the client's
 * Content-Type aside and presents the body as `application/octet-stream`, which the service runtime leaves
 * unparsed, so handlers read the raw stream whatever the client declared. The client's value is returned by
 * `clientContentType`.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  use(req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void {
    // Middleware mounted on a path sees `req.url` relative to it; `originalUrl` is the full one.
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    if (req.headers['content-type'] !== undefined && DATA_PLANE_PATH.test(url.split('?')[0] ?? '')) {
      const tagged = req as TaggedRequest;
      const given = req.headers['content-type'];
      tagged[CLIENT_CONTENT_TYPE] = given ?? null;
      req.headers['content-type'] = 'application/octet-stream';
    }
    next();
  }
}

/** The Content-Type the client sent (see RawBodyMiddleware), else the header as is. */
export function clientContentType(req: IncomingMessage): string | undefined {
  const tagged = req as TaggedRequest;
  if (CLIENT_CONTENT_TYPE in tagged) return tagged[CLIENT_CONTENT_TYPE] ?? undefined;
  return req.headers['content-type'];
}
