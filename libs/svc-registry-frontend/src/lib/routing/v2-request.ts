import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DataPlaneAccess } from '../auth/data-plane-access';
import type { RegistryRef } from '../registry/registry-ref';
import type { V2Route } from './v2-route.util';

/** One data-plane request after routing and registry resolution: what every handler receives. */
export interface V2Request<R extends V2Route = V2Route> {
  readonly registry: RegistryRef;
  readonly route: R;
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  /** What the authenticated caller may do (set by the authorization guard before the handler runs). */
  readonly access: DataPlaneAccess;
  /** Query parameters; repeated ones become arrays. */
  readonly query: Record<string, string | string[] | undefined>;
}

export type RouteOf<K extends V2Route['kind']> = Extract<V2Route, { kind: K }>;

/** The first value of a query parameter. */
export function queryParam(q: V2Request['query'], name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of a (possibly repeated) query parameter. */
export function queryParams(q: V2Request['query'], name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
