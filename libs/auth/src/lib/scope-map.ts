import type { AllowedAccess, RepositoryAction } from './access';

/** ACR scope-map action suffixes and the repository action each grants (acr.md §4.8). */
const SCOPE_MAP_ACTIONS: Record<string, RepositoryAction> = {
  'content/read': 'pull',
  'content/write': 'push',
  'content/delete': 'delete',
  'metadata/read': 'metadata_read',
  'metadata/write': 'metadata_write',
};

const SCOPE_MAP_ACTION = /^repositories\/(.+)\/(content\/(?:read|write|delete)|metadata\/(?:read|write))$/;

/** One parsed scope-map action: a repository pattern (`name`, `prefix/*`, `*`) and the action it grants. */
export interface ScopeMapGrant {
  pattern: string;
  action: RepositoryAction;
}

/**
 * Parses a scope-map action string `repositories/<repo | prefix/* | *>/content/read|write|delete` or
 * `.../metadata/read|write`. Returns undefined for anything else (connected-registry `gateway/...` actions,
 * malformed strings, a `*` anywhere but as the whole name or a final `/*`): those grant nothing here.
 */
export function parseScopeMapAction(action: string): ScopeMapGrant | undefined {
  const m = SCOPE_MAP_ACTION.exec(action.trim());
  const pattern = m?.[1];
  const kind = m?.[2];
  if (!pattern || !kind) return undefined;
  const star = pattern.indexOf('*');
  if (star !== -1 && !(pattern === '*' || (pattern.endsWith('/*') && star === pattern.length - 1))) return undefined;
  const granted = SCOPE_MAP_ACTIONS[kind];
  return granted ? { pattern, action: granted } : undefined;
}

/** What a repository-scoped token with these scope-map actions may do (scope maps never grant the catalog). */
export function allowedForScopeMap(actions: readonly string[]): AllowedAccess {
  const byPattern = new Map<string, RepositoryAction[]>();
  for (const a of actions) {
    const grant = parseScopeMapAction(a);
    if (!grant) continue;
    const list = byPattern.get(grant.pattern) ?? [];
    if (!list.includes(grant.action)) list.push(grant.action);
    byPattern.set(grant.pattern, list);
  }
  return { repositories: [...byPattern].map(([pattern, list]) => ({ pattern, actions: list })), catalog: false };
}
