import { isRepositoryName } from '@berth/oci';
import { ScopeInvalidError } from './auth.errors';

/** The plain repository actions of ACR's data plane (legacy permissions mode). */
export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete', 'metadata_read', 'metadata_write'] as const;
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];

/** One entry of a Docker access request or grant: `{type, name, actions}` as it appears in a token's `access` claim. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * What a subject may do on one registry: the repository actions per repository pattern (an exact name,
 * `prefix/*` for everything under a prefix, or `*` for every repository), and whether it may list the catalog.
 * Patterns are additive: the actions allowed on a name are the union over every pattern that matches it.
 */
export interface AllowedAccess {
  repositories: ReadonlyArray<{ pattern: string; actions: readonly RepositoryAction[] }>;
  catalog: boolean;
}

export const NOTHING_ALLOWED: AllowedAccess = Object.freeze({ repositories: [], catalog: false });

const MAX_SCOPE_LENGTH = 1024;
const MAX_SCOPES = 64;
const ACTION = /^[a-z_*]+$/;

/**
 * Parses one Docker scope string `type:name:actions` (distribution's token spec). The type is everything
 * before the first `:`, the actions everything after the last `:` (comma-separated), and the name what lies
 * between (so a name may carry a port-like `:` only if the type and actions are present). `repository`
 * names must follow the OCI name grammar; `registry` scopes only name `catalog`. Actions of other resource
 * types are kept as given (they are never granted). `*` on a repository means all five repository actions.
 * Unknown repository actions are dropped, as distribution does, so an old client asking for more still gets
 * what it may. Throws ScopeInvalidError for anything that is not a scope.
 */
export function parseScope(scope: string): AccessEntry {
  if (typeof scope !== 'string' || scope.length === 0 || scope.length > MAX_SCOPE_LENGTH) {
    throw new ScopeInvalidError(String(scope).slice(0, 64), 'empty or too long');
  }
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) throw new ScopeInvalidError(scope, 'expected type:name:actions');
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const rawActions = scope.slice(last + 1);
  if (!/^[a-z][a-z0-9()_-]*$/i.test(type)) throw new ScopeInvalidError(scope, 'bad resource type');
  if (!name) throw new ScopeInvalidError(scope, 'empty resource name');
  const actions = rawActions.split(',').filter((a) => a.length > 0);
  if (actions.some((a) => !ACTION.test(a))) throw new ScopeInvalidError(scope, 'bad action');
  switch (type) {
    case 'repository':
      if (!isRepositoryName(name)) throw new ScopeInvalidError(scope, 'invalid repository name');
      return { type, name, actions: normaliseRepositoryActions(actions) };
    case 'registry':
      if (name !== 'catalog') throw new ScopeInvalidError(scope, 'registry scopes name only catalog');
      return { type, name, actions: actions.includes('*') ? ['*'] : [] };
    default:
      return { type, name, actions: dedupe(actions) };
  }
}

/**
 * Parses the `scope` parameters of a token request: each value may hold several scopes separated by spaces,
 * and the parameter may repeat. Entries for the same (type, name) merge (actions unioned, first occurrence
 * decides the position). An empty list is fine (a token with no access, e.g. for `GET /v2/`).
 */
export function parseScopes(values: ReadonlyArray<string | undefined> | string | undefined): AccessEntry[] {
  const list = (Array.isArray(values) ? values : [values]).filter((v): v is string => typeof v === 'string');
  const parts = list.flatMap((v) => v.split(' ')).filter((s) => s.length > 0);
  if (parts.length > MAX_SCOPES) throw new ScopeInvalidError(`${parts.length} scopes`, `more than ${MAX_SCOPES} scopes`);
  const merged: AccessEntry[] = [];
  for (const part of parts) {
    const entry = parseScope(part);
    const same = merged.find((e) => e.type === entry.type && e.name === entry.name);
    if (same) same.actions = dedupe([...same.actions, ...entry.actions]);
    else merged.push(entry);
  }
  return merged;
}

/** The scope string of an entry (`repository:a/b:pull,push`), as used in challenges. */
export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}

/** Whether a repository pattern (`name`, `prefix/*`, `*`) covers a repository name. */
export function repositoryPatternMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/** The repository actions `allowed` grants on repository `name` (in the canonical order). */
export function allowedRepositoryActions(allowed: AllowedAccess, name: string): RepositoryAction[] {
  const set = new Set<RepositoryAction>();
  for (const r of allowed.repositories) {
    if (repositoryPatternMatches(r.pattern, name)) r.actions.forEach((a) => set.add(a));
  }
  return REPOSITORY_ACTIONS.filter((a) => set.has(a));
}

/**
 * The granted access: `requested ∩ allowed` per (type, name), in the request's order, keeping the request's
 * action order. Entries with nothing granted are left out; unknown resource types are never granted.
 */
export function grantAccess(requested: readonly AccessEntry[], allowed: AllowedAccess): AccessEntry[] {
  const granted: AccessEntry[] = [];
  for (const entry of requested) {
    let actions: string[] = [];
    if (entry.type === 'repository') {
      const may = new Set<string>(allowedRepositoryActions(allowed, entry.name));
      actions = entry.actions.filter((a) => may.has(a));
    } else if (entry.type === 'registry' && entry.name === 'catalog' && allowed.catalog) {
      actions = entry.actions.filter((a) => a === '*');
    }
    if (actions.length > 0) granted.push({ type: entry.type, name: entry.name, actions });
  }
  return granted;
}

/** Whether a token's `access` claim includes `action` on (type, name). The frontend's per-request check. */
export function accessIncludes(access: readonly AccessEntry[], type: string, name: string, action: string): boolean {
  return access.some((e) => e.type === type && e.name === name && (e.actions.includes(action) || e.actions.includes('*')));
}

/** Merges several allowed sets (e.g. one per role assignment) into one. */
export function mergeAllowed(sets: readonly AllowedAccess[]): AllowedAccess {
  return {
    repositories: sets.flatMap((s) => s.repositories),
    catalog: sets.some((s) => s.catalog),
  };
}

function normaliseRepositoryActions(actions: string[]): string[] {
  if (actions.includes('*')) return [...REPOSITORY_ACTIONS];
  const known = new Set<string>(REPOSITORY_ACTIONS);
  return dedupe(actions.filter((a) => known.has(a)));
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}
