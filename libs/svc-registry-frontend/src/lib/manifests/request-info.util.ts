import type { FastifyRequest } from 'fastify';
import type { EventRequestInfo } from './registry-events';

/** ACR's webhook `request` object (id, host, method, useragent) plus the trace context of the request. */
export function eventRequestInfo(req: FastifyRequest): EventRequestInfo {
  const traceparent = req.headers['traceparent'];
  return {
    id: req.id,
    host: req.headers.host ?? '',
    method: req.method,
    useragent: req.headers['user-agent'] ?? '',
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
  };
}
