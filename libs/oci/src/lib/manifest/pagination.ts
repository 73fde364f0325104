import { RegistryError } from '../errors';
import { clip } from './manifest-invalid.error';

/** The largest `n` a tags-list or catalog request may ask for. */
export const MAX_PAGE_SIZE = 10_000;

export interface PageParams {
  /**
   * How many entries to return; undefined when the client sent no `n` (the caller's default: every tag
   * for a tags list, as distribution; one page for the catalog). 0 means an empty list and no Link header.
   */
  readonly n?: number;
  /** Return only entries sorting strictly after this one. */
  readonly last?: string;
}

export interface PageParamsOptions {
  /** Default MAX_PAGE_SIZE. */
  readonly max?: number;
  /**
   * When n exceeds max: false (default) refuses it with PAGINATION_NUMBER_INVALID, like distribution's
   * catalog; true lowers it to max, like distribution's tags list. Clamping is spec-compliant only if the
   * caller then sends a Link header whenever more entries remain.
   */
  readonly clamp?: boolean;
}

const DECIMAL = /^[0-9]+$/;

/**
 * Reads the `n` and `last` query parameters of `GET /v2/<name>/tags/list` and `GET /v2/_catalog`.
 * `n` must be a decimal integer from 0 to max, else PAGINATION_NUMBER_INVALID (400). An empty `n` or
 * `last` counts as absent (distribution reads them with `Query().Get`, which cannot tell them apart).
 * `last` is not validated: it is only compared against stored names.
 */
export function parsePageParams(
  n: string | undefined,
  last: string | undefined,
  options: PageParamsOptions = {},
): PageParams {
  const max = options.max ?? MAX_PAGE_SIZE;
  const lastPart = last === undefined || last === '' ? {} : { last };
  if (n === undefined || n === '') return lastPart;

  const value = DECIMAL.test(n) ? Number(n) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', {
      n: clip(n, 40),
      reason: 'n must be a non-negative integer',
    });
  }
  if (value > max) {
    if (options.clamp) return { n: max, ...lastPart };
    throw new RegistryError('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', {
      n: value,
      reason: `n must be at most ${max}`,
    });
  }
  return { n: value, ...lastPart };
}

/**
 * A `Link` header value for the next page (RFC 8288, ex-5988; distribution-spec: `rel="next"`), e.g.
 * `</v2/team/app/tags/list?n=2&last=b>; rel="next"`. `path` is the server's own path (already safe;
 * it must not carry a query); query values are percent-encoded. `extra` adds parameters that must
 * survive paging, such as the referrers `artifactType` filter.
 */
export function nextLink(
  path: string,
  n: number,
  lastItem: string,
  extra: Readonly<Record<string, string>> = {},
): string {
  if (!path.startsWith('/') || path.includes('?') || path.includes('#')) {
    throw new TypeError(`nextLink expects an absolute path without query or fragment, got ${clip(path, 100)}`);
  }
  const query = [...Object.entries(extra), ['n', String(n)], ['last', lastItem]]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `<${encodeURI(path)}?${query}>; rel="next"`;
}
