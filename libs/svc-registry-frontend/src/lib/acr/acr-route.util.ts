import { RegistryError, isRepositoryName } from '@berth/oci';

/**
 * What an `/acr/v1/...` path addresses (acr.md §2.2). Repository names contain slashes; a repository path
 * component never starts with `_`, so `_tags`/`_manifests` can only be the API's own keywords.
 */
export type AcrRoute =
  | { kind: 'catalog' }
  | { kind: 'repository'; name: string }
  | { kind: 'tags'; name: string }
  | { kind: 'tag'; name: string; tag: string }
  | { kind: 'manifests'; name: string }
  | { kind: 'manifest'; name: string; reference: string };

const PATTERNS: Array<[RegExp, (m: RegExpExecArray) => AcrRoute]> = [
  [/^\/acr\/v1\/_catalog\/?$/, () => ({ kind: 'catalog' })],
  [/^\/acr\/v1\/(.+)\/_tags\/?$/, (m) => ({ kind: 'tags', name: m[1] ?? '' })],
  [/^\/acr\/v1\/(.+)\/_tags\/([^/]+)$/, (m) => ({ kind: 'tag', name: m[1] ?? '', tag: m[2] ?? '' })],
  [/^\/acr\/v1\/(.+)\/_manifests\/?$/, (m) => ({ kind: 'manifests', name: m[1] ?? '' })],
  [/^\/acr\/v1\/(.+)\/_manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1] ?? '', reference: m[2] ?? '' })],
  [/^\/acr\/v1\/([^_].*?)\/?$/, (m) => ({ kind: 'repository', name: m[1] ?? '' })],
];

/**
 * Parses the path (without query) of an `/acr/v1` request. Unknown shapes are NAME_UNKNOWN 404; a
 * well-shaped path with an invalid repository name is NAME_INVALID 400 (as on /v2).
 */
export function parseAcrRoute(rawPath: string): AcrRoute {
  return matchRepositoryRoute(rawPath, PATTERNS);
}

/**
 * Matches a percent-encoded request path against `(pattern, build)` pairs, first match wins; a route with a
 * `name` must name a valid repository (NAME_INVALID 400), no match is NAME_UNKNOWN 404, a bad encoding
 * NAME_INVALID. Generic, so the `/v2` router can share it.
 */
export function matchRepositoryRoute<R extends object>(rawPath: string, patterns: ReadonlyArray<[RegExp, (m: RegExpExecArray) => R]>): R {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new RegistryError('NAME_INVALID', 'invalid path encoding');
  }
  for (const [re, build] of patterns) {
    const m = re.exec(path);
    if (!m) continue;
    const route = build(m);
    if ('name' in route && (typeof route.name !== 'string' || !isRepositoryName(route.name))) {
      throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: String(route.name).slice(0, 300) });
    }
    return route;
  }
  throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry');
}
