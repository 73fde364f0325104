import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the client's Content-Type of a manifest PUT is kept once the header has been neutralised. */
const CLIENT_CONTENT_TYPE = Symbol('berth.manifestContentType');

type TaggedRequest = IncomingMessage & { [CLIENT_CONTENT_TYPE]?: string | null };

const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/;

/**
 * Keeps a manifest PUT body byte-exact. distribution-spec: the registry stores the exact bytes it received and
 * `Docker-Content-Digest` is their digest. Fastify parses `application/json` (and `text/plain`) bodies itself,
 * which would lose the original bytes (whitespace, key order, duplicate keys). This middleware runs in the
 * `onRequest` phase, before content-type parsing: for `PUT /v2/<name>/manifests/<reference>` it moves the
 * client's Content-Type aside and presents the body as `application/octet-stream`, which the service runtime
 * leaves unparsed, so the handler reads the raw stream whatever the client declared.
 * The client's value is returned by `manifestContentType`.
 */
@Injectable()
export class ManifestBodyMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  use(req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void {
    // Middleware mounted on a path sees `req.url` relative to it; `originalUrl` is the full one.
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    if (req.method === 'PUT' && MANIFEST_PATH.test(url.split('?')[0] ?? '')) {
      const tagged = req as TaggedRequest;
      const given = req.headers['content-type'];
      tagged[CLIENT_CONTENT_TYPE] = given ?? null;
      req.headers['content-type'] = 'application/octet-stream';
    }
    next();
  }
}

/** The Content-Type the client sent with a manifest PUT (see ManifestBodyMiddleware), else the header as is. */
export function manifestContentType(req: IncomingMessage): string | undefined {
  const tagged = req as TaggedRequest;
  if (CLIENT_CONTENT_TYPE in tagged) return tagged[CLIENT_CONTENT_TYPE] ?? undefined;
  return req.headers['content-type'];
}
