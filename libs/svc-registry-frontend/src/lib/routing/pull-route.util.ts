import type { FastifyRequest } from 'fastify';
import type { RouteOf } from './v2-request';
import { parseV2Route } from './v2-route.util';

/** A pull: GET/HEAD of a manifest or a blob. */
export type PullRoute = RouteOf<'manifest' | 'blob'>;

/** Pulls: `GET`/`HEAD` of `/v2/<name>/manifests/<reference>` and `/v2/<name>/blobs/<digest>` (not uploads). */
const PULL_PATH = /^\/v2\/.+\/(manifests\/[^/]+|blobs\/(?!uploads\/?$)[^/]+)$/;

const PULL_ROUTE = Symbol('berth.pullRoute');

type Tagged = FastifyRequest & { [PULL_ROUTE]?: PullRoute | null };

/**
 * The route of a request the pull fast path (V2FastPath) answers, or undefined for every other request: a GET or HEAD
 * whose path is a well-formed manifest or blob route. Anything the route parser refuses or reads otherwise is left to
 * the Nest path, which answers it as before. Worked out once per request (LimitsHook asks too: it leaves pulls to the
 * fast path, which applies the limits itself).
 */
export function pullRouteOf(req: FastifyRequest): PullRoute | undefined {
  const tagged = req as Tagged;
  let route = tagged[PULL_ROUTE];
  if (route === undefined) {
    route = parsePull(req.method, req.url);
    tagged[PULL_ROUTE] = route;
  }
  return route ?? undefined;
}

function parsePull(method: string, url: string): PullRoute | null {
  if (method !== 'GET' && method !== 'HEAD') return null;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!PULL_PATH.test(path)) return null;
  try {
    const route = parseV2Route(path);
    return route.kind === 'manifest' || route.kind === 'blob' ? route : null;
  } catch {
    return null;
  }
}
