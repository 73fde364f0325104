import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  suppressTracing,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { BerthSpanAttr } from './attributes';

/** The tracer of Berth's own spans (HTTP, Postgres, Kafka, ... come from their instrumentations). */
export const BERTH_TRACER = 'berth';

/** Bus message headers: names and UTF-8 values, as `@berth/events` carries them. */
export type MessageHeaders = Record<string, string>;

/**
 * Event headers always use W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage, whatever
 * OTEL_PROPAGATORS says for HTTP: the envelope contract names `traceparent`, and a consumer in another
 * process must read what the producer wrote.
 */
const w3c = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

const setter: TextMapSetter<MessageHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** Header names are matched case-insensitively (Kafka header names are case-sensitive; writers differ). */
const getter: TextMapGetter<MessageHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    if (carrier[key] !== undefined) return carrier[key];
    const lower = key.toLowerCase();
    for (const [k, v] of Object.entries(carrier)) if (k.toLowerCase() === lower) return v;
    return undefined;
  },
};

/**
 * Writes the trace context of `ctx` (default: the active one) into `headers` (`traceparent`, and
 * `tracestate`/`baggage` when present) and returns them. Without a valid span context nothing is added.
 */
export function injectTraceHeaders(headers: MessageHeaders = {}, ctx: Context = context.active()): MessageHeaders {
  w3c.inject(ctx, headers, setter);
  return headers;
}

/** The trace context carried by message headers, on top of `base` (default: the root context). */
export function extractTraceContext(headers: MessageHeaders | undefined, base: Context = ROOT_CONTEXT): Context {
  return headers ? w3c.extract(base, headers, getter) : base;
}

/** The `traceparent` of the active span (or of `ctx`), e.g. for `EventEnvelope.traceparent` in an outbox row. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  return injectTraceHeaders({}, ctx)['traceparent'];
}

/** The context a stored `traceparent` (an outbox row's) continues. An absent or malformed value gives `base`. */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  return traceparent ? extractTraceContext({ traceparent }, base) : base;
}

export interface ConsumedMessage {
  topic: string;
  headers: MessageHeaders;
  /** The envelope id: recorded as `berth.event_id`. */
  eventId?: string;
}

/** How `messaging.system` names Berth's buses. */
export type BusSystem = 'kafka' | 'in_process';

async function inSpan<T>(span: Span, ctx: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(ctx, span), () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs a consumer's handler in a CONSUMER span that continues the producer's trace, so one push is one trace
 * from the client's request to every consumer. The parent is the message's `traceparent`; when a Kafka
 * instrumentation span of that same trace is already active, the span nests under it instead.
 * A rejection marks the span as failed and propagates.
 */
export function withConsumerSpan<T>(
  message: ConsumedMessage,
  options: { group: string; system?: BusSystem; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const extracted = extractTraceContext(message.headers);
  const fromHeaders = trace.getSpanContext(extracted);
  const active = trace.getSpanContext(context.active());
  const parent =
    active && (!fromHeaders || active.traceId === fromHeaders.traceId)
      ? context.active()
      : fromHeaders
        ? extracted
        : context.active();
  const span = trace.getTracer(BERTH_TRACER).startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': options.system ?? 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.topic,
        'messaging.consumer.group.name': options.group,
        ...(message.eventId
          ? { 'messaging.message.id': message.eventId, [BerthSpanAttr.EventId]: message.eventId }
          : {}),
        ...options.attributes,
      },
    },
    parent,
  );
  return inSpan(span, parent, fn);
}

/**
 * Runs a publish in a PRODUCER span that continues `traceparent` (the outbox row's: the relay publishes long
 * after the request that wrote it, from a background loop with no active trace). `fn` receives the headers
 * to publish with (the trace context of this span added to `headers`).
 */
export function withProducerSpan<T>(
  options: {
    topic: string;
    traceparent?: string;
    headers?: MessageHeaders;
    system?: BusSystem;
    eventId?: string;
    attributes?: Attributes;
  },
  fn: (headers: MessageHeaders, span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.traceparent ? contextFromTraceparent(options.traceparent, context.active()) : context.active();
  const span = trace.getTracer(BERTH_TRACER).startSpan(
    `send ${options.topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': options.system ?? 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': options.topic,
        ...(options.eventId
          ? { 'messaging.message.id': options.eventId, [BerthSpanAttr.EventId]: options.eventId }
          : {}),
        ...options.attributes,
      },
    },
    parent,
  );
  const spanCtx = trace.setSpan(parent, span);
  const headers = injectTraceHeaders({ ...(options.headers ?? {}) }, spanCtx);
  return inSpan(span, parent, (s) => fn(headers, s));
}

/** Runs `fn` in an INTERNAL span (e.g. a storage commit, a background job step) under the active context. */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = context.active();
  const span = trace.getTracer(BERTH_TRACER).startSpan(name, { attributes }, parent);
  return inSpan(span, parent, fn);
}

/** Sets Berth attributes (`berth.registry_id`, `berth.digest`, ...) on the active span, if any. */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** No active span, tracing suppressed: the context of `untracedBookkeeping`. */
const UNTRACED = suppressTracing(ROOT_CONTEXT);

/**
 * Runs `fn`, Berth's own per-request bookkeeping (the request-rate counter call), without spans of its own: the
 * active span (the request's server span) gets `attribute` = true instead, and `fn` runs with no active span and
 * tracing suppressed, so client instrumentations (ioredis) skip it entirely (no span object, not even a
 * non-recording one). Everything else the request does stays traced. With tracing off this is just `fn()`.
 */
export function untracedBookkeeping<T>(attribute: string, fn: () => T): T {
  const span = trace.getActiveSpan();
  if (!span) return fn();
  if (span.isRecording()) span.setAttribute(attribute, true);
  // One context made once (not two per call): the bookkeeping needs nothing from the request's context.
  return context.with(UNTRACED, fn);
}

/** One message of a batch published under `withProducerSpans`. */
export interface ProducedMessage {
  /** The stored trace context to continue (an outbox row's `traceparent`); absent: a new trace. */
  traceparent?: string;
  /** The message's headers; the result has these plus this message's span context. */
  headers?: MessageHeaders;
  /** The envelope id: recorded as `berth.event_id`. */
  eventId?: string;
}

/**
 * Publishes a batch whose messages belong to different traces (the outbox relay's: each row continues the request
 * that wrote it): one PRODUCER span `send <topic>` per message, each a child of that message's `traceparent`,
 * whose context goes into that message's headers. `fn` publishes with those headers and runs with tracing
 * suppressed, so a client instrumentation (kafkajs) neither adds a span parented on whatever is active nor
 * overwrites the headers. Every span ends when `fn` settles, marked failed when it rejects.
 */
export async function withProducerSpans<T>(
  topic: string,
  messages: readonly ProducedMessage[],
  options: { system?: BusSystem; attributes?: Attributes },
  fn: (headers: MessageHeaders[]) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(BERTH_TRACER);
  const base = context.active();
  const spans = messages.map((m) => {
    const parent = contextFromTraceparent(m.traceparent, base);
    const span = tracer.startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': options.system ?? 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          ...(m.eventId ? { 'messaging.message.id': m.eventId, [BerthSpanAttr.EventId]: m.eventId } : {}),
          ...options.attributes,
        },
      },
      parent,
    );
    return { span, headers: injectTraceHeaders({ ...(m.headers ?? {}) }, trace.setSpan(parent, span)) };
  });
  try {
    return await context.with(suppressTracing(base), () => fn(spans.map((s) => s.headers)));
  } catch (err) {
    for (const { span } of spans) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
    }
    throw err;
  } finally {
    for (const { span } of spans) span.end();
  }
}
