import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { berthMetrics, outcomeOfStatus, type OperationClass } from '@berth/telemetry';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pullRouteOf } from './pull-route.util';

const MANIFEST = /^\/v2\/.+\/manifests\/[^/]+$/;
const BLOB = /^\/v2\/.+\/blobs\/(?!uploads\/?$)[^/]+$/;
const UPLOAD = /^\/v2\/.+\/blobs\/uploads\/[^/]*$/;
const LISTING = /^\/(v2\/(_catalog|.+\/tags\/list|.+\/referrers\/[^/]+)|acr\/v1\/.*)\/?$/;

/**
 * The registry metrics of issue #7, recorded when each data-plane response ends (whatever path answered it:
 * the pull fast path, Nest, or a limit hook): pulls and pushes by artifact and outcome, bytes received and sent
 * through Berth, and throttled requests by operation class. Attributes stay bounded (no repository, no path).
 */
@Injectable()
export class RegistryMetricsHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Callback style: no promise per response.
    fastify.addHook('onResponse', (req, reply, done) => {
      record(req, reply);
      done();
    });
  }
}

/** Exposed for unit tests. */
export function record(req: FastifyRequest, reply: FastifyReply): void {
  const pull = pullRouteOf(req);
  if (pull && reply.statusCode !== 429) {
    // The pull fast path's requests: the route is known already (no path matching).
    const m = berthMetrics();
    const status = reply.statusCode;
    m.pull({ artifact: pull.kind, outcome: outcomeOfStatus(status) });
    if (req.method === 'GET' && status < 300) {
      const sent = Number(reply.getHeader('content-length') ?? 0);
      if (sent > 0) m.bytesSent(sent, { artifact: pull.kind, delivery: 'proxy' });
    }
    return;
  }
  const path = req.url.split('?')[0] ?? '';
  if (!path.startsWith('/v2') && !path.startsWith('/acr/v1')) return;
  const m = berthMetrics();
  const status = reply.statusCode;
  const method = req.method;
  const read = method === 'GET' || method === 'HEAD';
  if (status === 429) {
    const operationClass: OperationClass = LISTING.test(path) ? 'list' : read ? 'read' : 'write';
    m.throttled({ operationClass });
    return;
  }
  const outcome = outcomeOfStatus(status);
  const artifact = MANIFEST.test(path)
    ? 'manifest'
    : BLOB.test(path)
      ? 'blob'
      : UPLOAD.test(path)
        ? 'upload'
        : undefined;
  if (!artifact) return;
  if (read && artifact !== 'upload') {
    m.pull({ artifact, outcome });
    const sent = Number(reply.getHeader('content-length') ?? 0);
    if (method === 'GET' && status < 300 && sent > 0) m.bytesSent(sent, { artifact, delivery: 'proxy' });
    return;
  }
  const received = Number(req.headers['content-length'] ?? 0);
  if (status < 300 && received > 0 && (method === 'PUT' || method === 'PATCH' || method === 'POST')) {
    m.bytesReceived(received, { artifact: artifact === 'manifest' ? 'manifest' : 'blob' });
  }
  // A push is a manifest PUT, or a blob upload's completing request (the PUT, or a POST that carried the digest).
  const completes =
    artifact === 'manifest' ? method === 'PUT' : method === 'PUT' || (method === 'POST' && status === 201);
  if (completes) m.push({ artifact: artifact === 'manifest' ? 'manifest' : 'blob', outcome });
}
