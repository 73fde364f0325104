import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { redactQueryString } from './redaction';
import { httpServerTracer, UNTRACED_PATHS } from './telemetry';

export { HTTP_SERVER_TRACER } from './telemetry';

/** Methods the semantic conventions name; anything else is `_OTHER` on the span (and `HTTP` in its name). */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** W3C `traceparent`/`tracestate` (or whatever the global propagator reads) from Node's request headers. */
const headerGetter = {
  keys: (carrier: IncomingMessage['headers']): string[] => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string): string | string[] | undefined => carrier[key],
};

/**
 * One request's HTTP server span (kind SERVER, named `METHOD route`), created by the service's first request hook
 * instead of `@opentelemetry/instrumentation-http`'s incoming-request machinery (which wraps every server `emit`,
 * binds both emitters and records metrics of its own: a measurable share of a manifest GET). Attributes follow
 * the HTTP semantic conventions; the query string is redacted like every URL on a span (only values of
 * SAFE_QUERY_PARAMS stay).
 */
export class HttpServerSpan {
  private errorType: string | undefined;
  private ended = false;

  private constructor(
    readonly span: Span,
    /** The caller's context (from `traceparent`) with this span active: run the rest of the request in it. */
    readonly context: Context,
  ) {}

  /**
   * Starts the span of `req`, or returns undefined when tracing is off (OTEL_SDK_DISABLED, or telemetry not
   * started) or the path is a probe or scrape (UNTRACED_PATHS). `route` is the matched route pattern (`/v2/*`),
   * never the path; undefined when no route matched.
   */
  static start(req: IncomingMessage, route: string | undefined, scheme: 'http' | 'https'): HttpServerSpan | undefined {
    const tracer = httpServerTracer();
    if (!tracer) return undefined;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (UNTRACED_PATHS.includes(path)) return undefined;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, headerGetter);
    const rawMethod = req.method ?? 'GET';
    const known = KNOWN_METHODS.has(rawMethod);
    const span = tracer.startSpan(
      route ? `${known ? rawMethod : 'HTTP'} ${route}` : known ? rawMethod : 'HTTP',
      SERVER,
      parent,
    );
    // Attributes only on a span that is recorded (not sampled: none of this work). The samplers Berth configures
    // (always-on, trace-id ratio, parent-based) decide without them.
    if (span.isRecording())
      span.setAttributes(
        requestAttributes(req, rawMethod, known, route, scheme, path, q < 0 ? undefined : url.slice(q + 1)),
      );
    const ctx = trace.setSpan(parent, span);
    // A body is read through the request's 'data'/'end' listeners, which Node may call in the socket's context,
    // not this one: listeners added from here on run in the span's context (GETs skip the cost).
    const headers = req.headers;
    if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) context.bind(ctx, req);
    return new HttpServerSpan(span, ctx);
  }

  /** Runs `fn` (the next hook, the rest of the request) with this span active. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** The handler failed: the error's class name becomes `error.type` if the answer is a 5xx. */
  failed(err: unknown): void {
    this.errorType = err instanceof Error ? err.name : 'Error';
  }

  /** The response went out with `status`: ends the span (error status for 5xx). Idempotent. */
  end(status: number): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      this.span.setAttribute('error.type', this.errorType ?? String(status));
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.end();
  }

  /** The client went away before the answer was complete: ends the span as an error. Idempotent. */
  aborted(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute('error.type', 'aborted');
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client aborted the request' });
    this.span.end();
  }
}

const SERVER = { kind: SpanKind.SERVER };

/** The HTTP semantic-convention attributes of a request (the query string redacted). */
function requestAttributes(
  req: IncomingMessage,
  method: string,
  known: boolean,
  route: string | undefined,
  scheme: 'http' | 'https',
  path: string,
  query: string | undefined,
): Attributes {
  const headers = req.headers;
  const attributes: Attributes = {
    'http.request.method': known ? method : '_OTHER',
    'url.scheme': scheme,
    'url.path': path,
    'network.protocol.version': req.httpVersion,
  };
  if (!known) attributes['http.request.method_original'] = method;
  if (query !== undefined) attributes['url.query'] = redactQueryString(query);
  if (route) attributes['http.route'] = route;
  const host = parseHost(headers.host);
  if (host) {
    attributes['server.address'] = host.address;
    attributes['server.port'] = host.port ?? (scheme === 'https' ? 443 : 80);
  }
  const client = req.socket?.remoteAddress;
  if (client) attributes['client.address'] = client;
  const agent = headers['user-agent'];
  if (agent) attributes['user_agent.original'] = agent;
  return attributes;
}

/** `server.address` and `server.port` of a Host header (`name`, `name:port`, `[v6]:port`). */
function parseHost(host: string | undefined): { address: string; port?: number } | undefined {
  if (!host) return undefined;
  const close = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', close < 0 ? 0 : close);
  if (colon < 0) return { address: close < 0 ? host : host.slice(1, close) };
  const port = Number(host.slice(colon + 1));
  const address = close < 0 ? host.slice(0, colon) : host.slice(1, close);
  return Number.isInteger(port) && port > 0 && port < 65536 ? { address, port } : { address };
}
