import { RegistryError, mediaTypeOfContentType, parsePageParams, type PageParams } from '@berth/oci';

/** `orderby` of `_tags` and `_manifests` (acr.md §2.3): `none` (name/digest order), or by last update time. */
export type AcrOrderBy = 'none' | 'timedesc' | 'timeasc';

const ORDERS: readonly AcrOrderBy[] = ['none', 'timedesc', 'timeasc'];

/** Page size of an `/acr/v1` listing when the client sends no `n` (the client follows `Link` for the rest). */
export const ACR_DEFAULT_PAGE = 100;
/** The largest page an `/acr/v1` listing answers; a larger `n` is lowered to it (a `Link` still follows). */
export const ACR_MAX_PAGE = 1000;

/** Absent or empty is `none`; the SDK sends the three values in lower case, any other value is refused (400). */
export function parseOrderBy(value: string | undefined): AcrOrderBy {
  if (value === undefined || value === '') return 'none';
  const v = value.toLowerCase() as AcrOrderBy;
  if (!ORDERS.includes(v)) {
    throw badRequest('orderby must be one of none, timedesc, timeasc', { orderby: value.slice(0, 40) });
  }
  return v;
}

/** `n` (0..ACR_MAX_PAGE, larger lowered; default ACR_DEFAULT_PAGE) and `last`, as on /v2. */
export function parseAcrPage(n: string | undefined, last: string | undefined): Required<Pick<PageParams, 'n'>> & PageParams {
  const page = parsePageParams(n, last, { max: ACR_MAX_PAGE, clamp: true });
  return { ...page, n: page.n ?? ACR_DEFAULT_PAGE };
}

/** ACR's changeable attributes (acr.md §2.4, §8.4) plus the quarantine fields of a manifest (§8.1). */
export interface AttributesPatch {
  readonly deleteEnabled?: boolean;
  readonly writeEnabled?: boolean;
  readonly readEnabled?: boolean;
  readonly listEnabled?: boolean;
  readonly quarantineState?: QuarantineState;
  readonly quarantineDetails?: string;
}

export type QuarantineState = 'Passed' | 'Failed';

const BOOLEAN_FIELDS = ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'] as const;
const QUARANTINE_STATES: readonly QuarantineState[] = ['Passed', 'Failed'];
/** quarantineDetails is a JSON document written by a scanner; kept within a sane bound. */
export const MAX_QUARANTINE_DETAILS = 16 * 1024;

/**
 * Parses a PATCH body strictly: a JSON object (Content-Type absent, `application/json` or `+json`) whose
 * members are only the changeable attributes (booleans), plus `quarantineState`/`quarantineDetails` where
 * `quarantine` is allowed (manifests). Anything else (other types, unknown members, not an object) is a
 * 400 naming the member; nothing is changed.
 */
export function parseAttributesPatch(body: Buffer, contentType: string | undefined, quarantine: boolean): AttributesPatch {
  const type = mediaTypeOfContentType(contentType);
  if (type !== undefined && type !== 'application/json' && !type.endsWith('+json')) {
    throw new RegistryError('UNSUPPORTED', 'the body must be application/json', { contentType: type.slice(0, 100) }, 415);
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest(body.length === 0 ? 'a JSON body is required' : 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('the body must be a JSON object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if ((BOOLEAN_FIELDS as readonly string[]).includes(key)) {
      if (typeof v !== 'boolean') throw badRequest(`${key} must be a boolean`, { field: key });
      out[key] = v;
    } else if (quarantine && key === 'quarantineState') {
      if (!QUARANTINE_STATES.includes(v as QuarantineState)) {
        throw badRequest('quarantineState must be Passed or Failed', { field: key });
      }
      out[key] = v;
    } else if (quarantine && key === 'quarantineDetails') {
      if (typeof v !== 'string' || v.length > MAX_QUARANTINE_DETAILS) {
        throw badRequest(`quarantineDetails must be a string of at most ${MAX_QUARANTINE_DETAILS} characters`, { field: key });
      }
      out[key] = v;
    } else {
      throw badRequest('unknown member in the body', { field: key.slice(0, 100) });
    }
  }
  return out as AttributesPatch;
}

/** A malformed request: 400 with the generic code the data plane uses for requests it cannot act on. */
export function badRequest(message: string, detail?: Record<string, unknown>): RegistryError {
  return new RegistryError('UNSUPPORTED', message, detail, 400);
}

/**
 * Keyset paging for `orderby` (pure SQL text; identifiers come from the caller, never from the client).
 * `none` pages by `key` (byte order); the time orders page by (`time`, `key`), so ties on time keep a stable
 * order and `last` (a tag name or digest, as ACR's `Link` carries) resumes exactly after that item: its time
 * is looked up with `lastTime`, a scalar subquery.
 */
export function keysetClause(
  order: AcrOrderBy,
  columns: { key: string; time: string },
  lastParam: string,
  lastTime: string,
): { where: string; orderBy: string } {
  const { key, time } = columns;
  const after = (op: '<' | '>'): string => `(${lastParam}::text IS NULL OR (${time}, ${key}) ${op} ((${lastTime}), ${lastParam}))`;
  switch (order) {
    case 'none':
      return { where: `(${lastParam}::text IS NULL OR ${key} > ${lastParam})`, orderBy: `${key}` };
    case 'timedesc':
      return { where: after('<'), orderBy: `${time} DESC, ${key} DESC` };
    case 'timeasc':
      return { where: after('>'), orderBy: `${time} ASC, ${key} ASC` };
  }
}
