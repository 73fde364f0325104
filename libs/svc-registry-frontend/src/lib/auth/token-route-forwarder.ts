import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG, ROOT_LOGGER } from '@berth/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';

/** Request headers that reach token-service; everything else (cookies, hop-by-hop headers) stays here. */
const FORWARDED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'content-length',
  'accept',
  'user-agent',
  'x-request-id',
];
/** Response headers passed back to the client. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'cache-control',
  'pragma',
  'retry-after',
  'www-authenticate',
];
const UPSTREAM_TIMEOUT_MS = 15_000;
const MAX_TOKEN_BODY = 64 * 1024;

/**
 * Distributed mode: clients know one host, the login server, and the challenge's realm is on it
 * (`<login server>/oauth2/token`). This forwards `/oauth2/*` to token-service (BERTH_TOKEN_SERVICE_URL), streaming
 * the small form body and passing the client's host and address along, so the realm works without an ingress.
 * In the embedded default token-service's own routes are in the same process and nothing is registered here.
 */
@Injectable()
export class TokenRouteForwarder implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'token-route-forwarder' });
  }

  onModuleInit(): void {
    const upstream = this.config.tokenServiceUrl;
    if (this.config.mode !== 'distributed' || !upstream) return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const target = new URL(upstream);
    fastify.route({
      method: ['GET', 'POST'],
      url: '/oauth2/*',
      handler: (req, reply) => this.forward(target, req, reply),
    });
  }

  private forward(target: URL, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > MAX_TOKEN_BODY) {
      sendError(reply, 413, 'SIZE_INVALID', 'request body too large');
      return Promise.resolve();
    }
    if (req.body !== undefined && req.body !== null) delete headers['content-length'];
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = req.protocol;
    headers['x-forwarded-for'] = req.ip;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve) => {
      const upstreamReq = send(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          timeout: UPSTREAM_TIMEOUT_MS,
        },
        (res: IncomingMessage) => {
          reply.status(res.statusCode ?? 502);
          for (const name of FORWARDED_RESPONSE_HEADERS) {
            const v = res.headers[name];
            if (v !== undefined) reply.header(name, v);
          }
          void reply.send(res);
          res.on('end', resolve);
          res.on('error', () => resolve());
        },
      );
      upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('token-service timed out')));
      upstreamReq.on('error', (err) => {
        this.logger.warn({ err: err.message }, 'token-service unreachable');
        if (!reply.sent) sendError(reply, 503, 'UNAVAILABLE', 'the token service is unavailable');
        resolve();
      });
      if (req.method === 'GET') upstreamReq.end();
      else if (req.body !== undefined && req.body !== null) upstreamReq.end(reencode(req.body));
      else req.raw.pipe(upstreamReq);
    });
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): void {
  void reply
    .status(status)
    .header('content-type', 'application/json')
    .send({ errors: [{ code, message, detail: null }] });
}

/** A body a content-type parser already consumed (a form parsed into an object), encoded back into the form it came as. */
function reencode(body: unknown): string {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body.toString();
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    for (const one of Array.isArray(v) ? v : [v]) form.append(k, String(one));
  }
  return form.toString();
}
