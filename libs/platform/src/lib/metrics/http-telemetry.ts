import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { berthMetrics, ensureMetrics, HttpServerSpan } from '@berth/telemetry';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's HTTP server span (null when tracing is off or the path is not traced). */
    berthServerSpan: HttpServerSpan | null;
  }
}

/**
 * Per-request telemetry on the service's Fastify instance, installed before Nest creates the application, so
 * these hooks run before every hook a module adds in `onModuleInit` (the frontend's limits and pull fast path):
 *
 * - the HTTP server span (kind SERVER, `GET /v2/*`), continuing the caller's `traceparent`, started in the first
 *   `onRequest` hook and made the active context for the rest of the request (later hooks, Nest, pg, ioredis,
 *   storage and the outbox are its children), ended with the status when the response is done (or the client
 *   aborted); `/healthz`, `/readyz` and `/metrics` are not traced;
 * - `http.server.request.duration` with the route pattern (never the path: it holds repository names and
 *   digests), method and status, for every response.
 *
 * Also makes sure `/metrics` has a meter provider behind it when the process did not start telemetry itself
 * (in-process tests).
 */
export function installHttpTelemetry(adapter: FastifyAdapter, serviceName: string, scheme: 'http' | 'https'): void {
  ensureMetrics(serviceName);
  const fastify = adapter.getInstance();
  fastify.decorateRequest('berthServerSpan', null);
  fastify.addHook('onRequest', (req, _reply, done) => {
    const span = HttpServerSpan.start(req.raw, req.routeOptions.url, scheme);
    if (!span) return done();
    req.berthServerSpan = span;
    // Fastify calls the next hook from `done`: everything after this one starts inside the span.
    span.run(done);
  });
  fastify.addHook('onError', (req, _reply, err, done) => {
    req.berthServerSpan?.failed(err);
    done();
  });
  fastify.addHook('onRequestAbort', (req, done) => {
    req.berthServerSpan?.aborted();
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    berthMetrics().httpServerRequest({
      method: req.method,
      route: req.routeOptions.url,
      status: reply.statusCode,
      scheme,
      seconds: reply.elapsedTime / 1000,
    });
    const span = req.berthServerSpan;
    if (!span) return done();
    span.end(reply.statusCode);
    // The later onResponse hooks (the request log line) run in the span's context, so they carry its ids.
    span.run(done);
  });
}
