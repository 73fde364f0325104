/** One management route: a path pattern (`{param}` segments; literals compared case-insensitively, as ARM does). */
export interface RoutePattern<K extends string = string> {
  key: K;
  segments: readonly string[];
}

export function pattern<K extends string>(key: K, path: string): RoutePattern<K> {
  return { key, segments: path.split('/').filter(Boolean) };
}

/** Matches a request path (no query) against the patterns; returns the first match and its decoded parameters. */
export function matchRoute<K extends string>(
  patterns: ReadonlyArray<RoutePattern<K>>,
  path: string,
): { key: K; params: Record<string, string> } | undefined {
  let parts: string[];
  try {
    parts = path
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  for (const p of patterns) {
    if (p.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = p.segments[i] ?? '';
      const part = parts[i] ?? '';
      if (seg.startsWith('{')) params[seg.slice(1, -1)] = part;
      else ok = seg.toLowerCase() === part.toLowerCase();
    }
    if (ok) return { key: p.key, params };
  }
  return undefined;
}
