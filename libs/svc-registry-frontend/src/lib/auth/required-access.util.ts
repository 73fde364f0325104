import type { RepositoryAction } from '@berth/auth';
import { isRepositoryName } from '@berth/oci';
import { parseAcrRoute } from '../acr/acr-route.util';
import { parseV2Route } from '../routing/v2-route.util';

/** What one data-plane request needs before any handler runs (or lookup happens). */
export type RequiredAccess =
  | { kind: 'authenticated' }
  | { kind: 'catalog' }
  | { kind: 'repository'; name: string; action: RepositoryAction; mountFrom?: string };

const READ = new Set(['GET', 'HEAD']);

/**
 * The access a request needs, from its method and path alone. Authorization is decided from this before the
 * repository is looked at, so a caller without access learns nothing about whether the repository exists.
 * Unknown methods on a known route need the route's write action: the handler then refuses them.
 */
export function requiredAccess(method: string, rawPath: string, query: Record<string, unknown> = {}): RequiredAccess {
  if (rawPath === '/acr/v1' || rawPath.startsWith('/acr/v1/')) return acrAccess(method, rawPath);
  const route = parseV2Route(rawPath);
  switch (route.kind) {
    case 'base':
      return { kind: 'authenticated' };
    case 'catalog':
      return { kind: 'catalog' };
    case 'tags':
    case 'referrers':
      return { kind: 'repository', name: route.name, action: 'pull' };
    case 'manifest':
    case 'blob':
      if (READ.has(method)) return { kind: 'repository', name: route.name, action: 'pull' };
      if (method === 'DELETE') return { kind: 'repository', name: route.name, action: 'delete' };
      return { kind: 'repository', name: route.name, action: 'push' };
    case 'uploads': {
      // A mount also reads its source (distribution asks for pull on `from` as well); an invalid name is the handler's 400.
      const from = query['mount'] !== undefined && typeof query['from'] === 'string' ? query['from'] : undefined;
      return {
        kind: 'repository',
        name: route.name,
        action: 'push',
        ...(from && isRepositoryName(from) ? { mountFrom: from } : {}),
      };
    }
    case 'upload':
      return { kind: 'repository', name: route.name, action: 'push' };
  }
}

/** `/acr/v1/_catalog`, `/acr/v1/<name>`, `/acr/v1/<name>/_tags[/<tag>]`, `/acr/v1/<name>/_manifests[/<reference>]`. */
function acrAccess(method: string, rawPath: string): RequiredAccess {
  const route = parseAcrRoute(rawPath);
  if (route.kind === 'catalog') return { kind: 'catalog' };
  const { name } = route;
  if (READ.has(method)) return { kind: 'repository', name, action: 'metadata_read' };
  if (method === 'DELETE') return { kind: 'repository', name, action: 'delete' };
  return { kind: 'repository', name, action: 'metadata_write' };
}

/** The Docker scope string a challenge names for what was required (push challenges ask for pull,push as clients expect). */
export function challengeScope(required: RequiredAccess): string | undefined {
  switch (required.kind) {
    case 'authenticated':
      return undefined;
    case 'catalog':
      return 'registry:catalog:*';
    case 'repository': {
      const own = `repository:${required.name}:${required.action === 'push' ? 'pull,push' : required.action}`;
      return required.mountFrom && required.mountFrom !== required.name
        ? `${own} repository:${required.mountFrom}:pull`
        : own;
    }
  }
}
