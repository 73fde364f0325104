import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * Ended spans as plain data that a worker thread can receive (`postMessage` copies it with the structured clone
 * algorithm, which keeps numbers, strings, booleans and arrays as they are but no class instances or functions),
 * and back. The instrumentation scopes, resources and attribute keys, the same few for every span of a process,
 * travel once each, as numbered table entries; a span names them by number. A batch's spans are one flat array of
 * primitives (see WireBatch).
 *
 * Everything an OTLP exporter reads from a span survives the trip (test: span-wire.spec.ts compares the OTLP
 * encoding of the original and of the copy).
 */

/** Links and events, rare on Berth's spans, travel as plain objects (their span contexts' trace state serialised). */
export interface WireLink {
  readonly context: WireContext;
  readonly attributes?: Attributes;
  readonly droppedAttributesCount?: number;
}

export interface WireContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: string;
  readonly isRemote?: boolean;
}

export interface WireScope {
  readonly id: number;
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
}

export interface WireResource {
  readonly id: number;
  readonly attributes: Attributes;
  readonly schemaUrl?: string;
}

/**
 * One hand-over to the worker: `count` spans as one flat array of numbers and strings (`data`, FIELDS per span, then
 * the span's attributes as pairs of key number and value), and the table entries they name that the receiver has not
 * seen yet: scopes, resources and attribute keys (`keys` continues the key table where the last batch left it).
 * A flat array of primitives is copied by `postMessage` several times faster than an object per span.
 */
export interface WireBatch {
  readonly scopes: WireScope[];
  readonly resources: WireResource[];
  readonly keys: string[];
  readonly count: number;
  readonly data: unknown[];
}

/** The fixed fields of a span in `WireBatch.data`, in order; its attributes follow (count, then key/value pairs). */
const enum F {
  Name,
  Kind,
  TraceId,
  SpanId,
  TraceFlags,
  TraceState,
  IsRemote,
  ParentTraceId,
  ParentSpanId,
  ParentTraceFlags,
  ParentTraceState,
  ParentIsRemote,
  StartS,
  StartNs,
  EndS,
  EndNs,
  DurationS,
  DurationNs,
  StatusCode,
  StatusMessage,
  Scope,
  Resource,
  DroppedAttributes,
  DroppedEvents,
  DroppedLinks,
  /** Undefined, or `{ events?, links? }`. */
  Extras,
  AttributeCount,
}

const FIELDS = F.AttributeCount + 1;

interface Extras {
  events?: TimedEvent[];
  links?: WireLink[];
}

function toWireContext(c: SpanContext): WireContext {
  const traceState = c.traceState?.serialize();
  return {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: c.traceFlags,
    ...(traceState ? { traceState } : {}),
    ...(c.isRemote !== undefined ? { isRemote: c.isRemote } : {}),
  };
}

function fromWireContext(c: WireContext): SpanContext {
  return context(c.traceId, c.spanId, c.traceFlags, c.traceState, c.isRemote);
}

function context(traceId: string, spanId: string, traceFlags: number, traceState: unknown, isRemote: unknown): SpanContext {
  return {
    traceId,
    spanId,
    traceFlags,
    ...(typeof traceState === 'string' ? { traceState: new TraceState(traceState) } : {}),
    ...(typeof isRemote === 'boolean' ? { isRemote } : {}),
  };
}

/**
 * The sending side: numbers scopes and resources by identity (the SDK shares one object per tracer and one resource
 * per provider) and attribute keys by name, and remembers which ones it already sent. A resource must have settled
 * its asynchronous attributes before {@link encode} sees it (the caller waits for `waitForAsyncAttributes`).
 */
export class WireEncoder {
  private readonly scopes = new Table<InstrumentationScope, WireScope>((scope, id) => ({
    id,
    name: scope.name,
    ...(scope.version !== undefined ? { version: scope.version } : {}),
    ...(scope.schemaUrl !== undefined ? { schemaUrl: scope.schemaUrl } : {}),
  }));
  private readonly resources = new Table<Resource, WireResource>((resource, id) => ({
    id,
    attributes: { ...resource.attributes },
    ...(resource.schemaUrl !== undefined ? { schemaUrl: resource.schemaUrl } : {}),
  }));
  private readonly keys = new Table<string, string>((key) => key);

  /** The batch of `spans`, with the table entries first named since the last batch. */
  encode(spans: readonly ReadableSpan[]): WireBatch {
    const data: unknown[] = [];
    for (const span of spans) this.append(data, span);
    return { scopes: this.scopes.takeNew(), resources: this.resources.takeNew(), keys: this.keys.takeNew(), count: spans.length, data };
  }

  /** Forgets what was sent (a new worker knows nothing). */
  reset(): void {
    this.scopes.clear();
    this.resources.clear();
    this.keys.clear();
  }

  private append(data: unknown[], span: ReadableSpan): void {
    const c = span.spanContext();
    const p = span.parentSpanContext;
    const extras: Extras | undefined =
      span.events.length > 0 || span.links.length > 0
        ? {
            ...(span.events.length > 0 ? { events: span.events } : {}),
            ...(span.links.length > 0 ? { links: span.links.map(toWireLink) } : {}),
          }
        : undefined;
    data.push(
      span.name,
      span.kind,
      c.traceId,
      c.spanId,
      c.traceFlags,
      c.traceState?.serialize(),
      c.isRemote,
      p?.traceId,
      p?.spanId,
      p?.traceFlags,
      p?.traceState?.serialize(),
      p?.isRemote,
      span.startTime[0],
      span.startTime[1],
      span.endTime[0],
      span.endTime[1],
      span.duration[0],
      span.duration[1],
      span.status.code,
      span.status.message,
      this.scopes.id(span.instrumentationScope),
      this.resources.id(span.resource),
      span.droppedAttributesCount,
      span.droppedEventsCount,
      span.droppedLinksCount,
      extras,
    );
    const countAt = data.length;
    data.push(0);
    let count = 0;
    const attributes = span.attributes;
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined) continue;
      data.push(this.keys.id(key), value);
      count++;
    }
    data[countAt] = count;
  }
}

/** Numbers things in the order first seen (by identity; strings by value) and collects the entries not yet sent. */
class Table<K, E> {
  private readonly ids = new Map<K, number>();
  private fresh: E[] = [];

  constructor(private readonly entry: (key: K, id: number) => E) {}

  id(key: K): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(key, id);
      this.fresh.push(this.entry(key, id));
    }
    return id;
  }

  /** The entries numbered since the last call. */
  takeNew(): E[] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }

  clear(): void {
    this.ids.clear();
    this.fresh = [];
  }
}

function toWireLink(link: Link): WireLink {
  return {
    context: toWireContext(link.context),
    ...(link.attributes ? { attributes: link.attributes } : {}),
    ...(link.droppedAttributesCount ? { droppedAttributesCount: link.droppedAttributesCount } : {}),
  };
}

/** The receiving side: rebuilds spans an exporter can read, with one scope and one resource object per table entry. */
export class WireDecoder {
  private readonly scopes = new Map<number, InstrumentationScope>();
  private readonly resources = new Map<number, Resource>();
  private readonly keys: string[] = [];

  fromBatch(batch: WireBatch): ReadableSpan[] {
    for (const s of batch.scopes) {
      this.scopes.set(s.id, {
        name: s.name,
        ...(s.version !== undefined ? { version: s.version } : {}),
        ...(s.schemaUrl !== undefined ? { schemaUrl: s.schemaUrl } : {}),
      });
    }
    for (const r of batch.resources) {
      this.resources.set(r.id, resourceFromAttributes(r.attributes, r.schemaUrl !== undefined ? { schemaUrl: r.schemaUrl } : {}));
    }
    this.keys.push(...batch.keys);
    const spans: ReadableSpan[] = [];
    let at = 0;
    for (let i = 0; i < batch.count; i++) {
      const [span, next] = this.span(batch.data, at);
      spans.push(span);
      at = next;
    }
    if (at !== batch.data.length) throw new Error(`a batch of ${batch.count} spans has ${batch.data.length - at} values left over`);
    return spans;
  }

  /** The span whose fields start at `data[at]`, and where the next one starts. */
  private span(data: readonly unknown[], at: number): [ReadableSpan, number] {
    const d = (f: F): unknown => data[at + f];
    const num = (f: F): number => {
      const v = d(f);
      if (typeof v !== 'number') throw new Error(`span field ${f} is not a number`);
      return v;
    };
    const str = (f: F): string => {
      const v = d(f);
      if (typeof v !== 'string') throw new Error(`span field ${f} is not a string`);
      return v;
    };
    const scope = this.scopes.get(num(F.Scope));
    const resource = this.resources.get(num(F.Resource));
    if (!scope || !resource) throw new Error(`span ${String(d(F.Name))}: unknown scope ${String(d(F.Scope))} or resource ${String(d(F.Resource))}`);
    const spanContext = context(str(F.TraceId), str(F.SpanId), num(F.TraceFlags), d(F.TraceState), d(F.IsRemote));
    const parent =
      typeof d(F.ParentSpanId) === 'string'
        ? context(str(F.ParentTraceId), str(F.ParentSpanId), num(F.ParentTraceFlags), d(F.ParentTraceState), d(F.ParentIsRemote))
        : undefined;
    const attributes: Attributes = {};
    const count = num(F.AttributeCount);
    let next = at + FIELDS;
    for (let i = 0; i < count; i++, next += 2) {
      const key = this.keys[data[next] as number];
      if (key === undefined) throw new Error(`span ${String(d(F.Name))}: unknown attribute key ${String(data[next])}`);
      attributes[key] = data[next + 1] as Attributes[string];
    }
    const extras = d(F.Extras) as Extras | undefined;
    const message = d(F.StatusMessage);
    const span: ReadableSpan = {
      name: str(F.Name),
      kind: num(F.Kind) as SpanKind,
      spanContext: () => spanContext,
      ...(parent ? { parentSpanContext: parent } : {}),
      startTime: [num(F.StartS), num(F.StartNs)] as HrTime,
      endTime: [num(F.EndS), num(F.EndNs)] as HrTime,
      duration: [num(F.DurationS), num(F.DurationNs)] as HrTime,
      status: { code: num(F.StatusCode), ...(typeof message === 'string' ? { message } : {}) } as SpanStatus,
      attributes,
      events: extras?.events ?? [],
      links: (extras?.links ?? []).map((l) => ({
        context: fromWireContext(l.context),
        ...(l.attributes ? { attributes: l.attributes } : {}),
        ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
      })),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: num(F.DroppedAttributes),
      droppedEventsCount: num(F.DroppedEvents),
      droppedLinksCount: num(F.DroppedLinks),
    };
    return [span, next];
  }
}
