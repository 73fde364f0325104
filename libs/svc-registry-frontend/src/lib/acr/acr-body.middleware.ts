import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CLIENT_CONTENT_TYPE = Symbol('berth.acrClientContentType');

type TaggedRequest = IncomingMessage & { [CLIENT_CONTENT_TYPE]?: string };

const ACR_PATH = /^\/acr\/v1(\/|$)/;

/**
 * Keeps `/acr/v1` bodies raw so the handlers parse them strictly and answer every malformed body in the
 * AcrErrors shape: Fastify's own JSON parser would answer invalid or empty JSON itself, outside the data
 * plane's error filter. Runs in `onRequest` (before content-type parsing), like the `/v2` raw-body
 * middleware; the client's Content-Type stays readable through `acrContentType`.
 */
@Injectable()
export class AcrBodyMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  use(req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    const given = req.headers['content-type'];
    if (given !== undefined && ACR_PATH.test(url.split('?')[0] ?? '')) {
      (req as TaggedRequest)[CLIENT_CONTENT_TYPE] = given;
      req.headers['content-type'] = 'application/octet-stream';
    }
    next();
  }
}

/** The Content-Type the client sent on an `/acr/v1` request. */
export function acrContentType(req: IncomingMessage): string | undefined {
  return (req as TaggedRequest)[CLIENT_CONTENT_TYPE] ?? req.headers['content-type'];
}
