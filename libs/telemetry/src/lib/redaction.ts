import type { Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * Query parameters whose values are kept on spans: OCI, ACR and ARM parameters that carry no secret.
 * Every other value is replaced: query strings may carry tokens, passwords, presigned-URL signatures or a
 * webhook target's secret (`?code=...`).
 */
export const SAFE_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'digest',
  'mount',
  'from',
  'n',
  'last',
  'api-version',
  'service',
  'scope',
  'orderby',
  'artifactType',
  'partNumber',
  'uploadId',
]);

/** Span attributes that may hold a query string. */
export const URL_ATTRIBUTES: readonly string[] = ['url.full', 'url.query', 'url.original', 'http.url', 'http.target'];

const REDACTED = 'REDACTED';

/** A query string (with or without its leading `?`) with every non-safe value replaced. */
export function redactQueryString(query: string): string {
  const lead = query.startsWith('?') ? '?' : '';
  const body = lead ? query.slice(1) : query;
  const hash = body.indexOf('#');
  const params = hash < 0 ? body : body.slice(0, hash);
  const fragment = hash < 0 ? '' : body.slice(hash);
  const redacted = params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return SAFE_QUERY_PARAMS.has(decoded) ? pair : `${name}=${REDACTED}`;
    })
    .join('&');
  return `${lead}${redacted}${fragment}`;
}

/** A URL or path with its userinfo dropped and every non-safe query value replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const head = (q < 0 ? url : url.slice(0, q)).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, '$1');
  return q < 0 ? head : `${head}${redactQueryString(url.slice(q))}`;
}

function scrub(span: Span): void {
  for (const key of URL_ATTRIBUTES) {
    const v = span.attributes[key];
    if (typeof v !== 'string') continue;
    const clean = key === 'url.query' ? redactQueryString(v) : redactUrl(v);
    if (clean !== v) span.setAttribute(key, clean);
  }
}

/**
 * Scrubs URL attributes of every span, when it starts and again as it ends (attributes set late included),
 * before any exporter sees it: the instrumentations' own redaction lists know only a few cloud signatures.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  onStart(span: Span): void {
    scrub(span);
  }
  onEnding(span: Span): void {
    scrub(span);
  }
  onEnd(): void {
    // nothing: scrubbed already
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
