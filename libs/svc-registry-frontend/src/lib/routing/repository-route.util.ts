import { RegistryError, isRepositoryName } from '@berth/oci';

/**
 * Matches a percent-encoded request path against `(pattern, build)` pairs, first match wins; a route with a
 * `name` must name a valid repository (NAME_INVALID 400), no match is NAME_UNKNOWN 404, a bad encoding
 * NAME_INVALID. Shared by the `/v2` and `/acr/v1` routers.
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
