import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';

/**
 * Names the HTTP server span of the current request after its route (`GET /v2/*`) and sets `http.route`,
 * as framework instrumentations do: the HTTP instrumentation reads the route when the response ends.
 * `route` is the route pattern, never the request path (paths hold repository names and digests).
 */
export function setHttpRoute(route: string | undefined): void {
  if (!route) return;
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}
