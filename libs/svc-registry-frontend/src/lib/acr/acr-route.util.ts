import { matchRepositoryRoute } from '../routing/repository-route.util';

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
