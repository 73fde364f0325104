import { currentTraceparent } from '@berth/telemetry';
import type { FastifyRequest } from 'fastify';
import type { EventRequestInfo } from './registry-events';

/**
 * ACR's webhook `request` object (id, host, method, useragent) plus the trace context of the request: the
 * active server span's (so the relay and consumers continue this request's trace), else the caller's header.
 */
export function eventRequestInfo(req: FastifyRequest): EventRequestInfo {
  const header = req.headers['traceparent'];
  const traceparent = currentTraceparent() ?? (typeof header === 'string' ? header : undefined);
  return {
    id: req.id,
    host: req.headers.host ?? '',
    method: req.method,
    useragent: req.headers['user-agent'] ?? '',
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}
