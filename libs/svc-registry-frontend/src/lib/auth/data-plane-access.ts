import type { FastifyRequest } from 'fastify';
import type { RepositoryAction } from '@berth/auth';

/** What the authenticated caller of a data-plane request may do, beyond the one access the request needed. */
export interface DataPlaneAccess {
  /** Who: `principal:<id>`, `admin:<registryId>`, `token:<id>`, `anonymous`. Also the throttling identity. */
  readonly subject: string;
  /** Whether the caller may list the registry's catalog. */
  readonly catalog: boolean;
  /** Whether the caller may perform `action` on repository `name` of this registry. */
  can(action: RepositoryAction, name: string): boolean;
  /** Whether the caller may perform `action` on every repository of this registry (e.g. AcrPull, admin user). */
  canEverywhere(action: RepositoryAction): boolean;
}

const ACCESS = Symbol.for('berth.dataPlaneAccess');

type WithAccess = FastifyRequest & { [ACCESS]?: DataPlaneAccess };

export function attachAccess(req: FastifyRequest, access: DataPlaneAccess): void {
  (req as WithAccess)[ACCESS] = access;
}

/** The access the authorization guard attached; absent only on routes outside the data plane. */
export function accessOf(req: FastifyRequest): DataPlaneAccess | undefined {
  return (req as WithAccess)[ACCESS];
}
