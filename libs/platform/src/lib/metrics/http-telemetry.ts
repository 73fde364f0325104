import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { berthMetrics, ensureMetrics, setHttpRoute } from '@berth/telemetry';

/**
 * Per-request telemetry on the service's Fastify instance: the HTTP server span is named after the route
 * (`GET /v2/*`) and every response records `http.server.request.duration` with the route pattern (never the
 * path: it holds repository names and digests), method and status. Also makes sure `/metrics` has a meter
 * provider behind it when the process did not start telemetry itself (in-process tests).
 */
export function installHttpTelemetry(adapter: FastifyAdapter, serviceName: string, scheme: 'http' | 'https'): void {
  ensureMetrics(serviceName);
  const fastify = adapter.getInstance();
  fastify.addHook('onRequest', (req, _reply, done) => {
    setHttpRoute(req.routeOptions.url);
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
    done();
  });
}
