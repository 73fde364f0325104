import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * Ended spans as plain data that a worker thread can receive (`postMessage` copies it with the structured clone
 * algorithm, which keeps numbers, strings, booleans and arrays as they are but no class instances or functions),
 * and back. The instrumentation scopes and resources, the same few objects for every span of a process, travel
 * once each, as numbered table entries; a span names them by number.
 *
 * Everything an OTLP exporter reads from a span survives the trip (test: span-wire.spec.ts compares the OTLP
 * encoding of the original and of the copy).
 */

/** A span context without its `TraceState` object (serialised instead). */
export interface WireContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: string;
  readonly isRemote?: boolean;
}

export interface WireLink {
  readonly context: WireContext;
  readonly attributes?: Attributes;
  readonly droppedAttributesCount?: number;
}

export interface WireSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly context: WireContext;
  readonly parent?: WireContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  /** Omitted when empty (most spans). */
  readonly events?: TimedEvent[];
  readonly links?: WireLink[];
  /** Numbers of the scope and resource tables. */
  readonly scope: number;
  readonly resource: number;
  /** Dropped attributes, events and links; omitted when all are 0. */
  readonly dropped?: readonly [number, number, number];
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

/** One hand-over to the worker: spans, and the table entries they name that the worker has not seen yet. */
export interface WireBatch {
  readonly scopes: WireScope[];
  readonly resources: WireResource[];
  readonly spans: WireSpan[];
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
  return {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: c.traceFlags,
    ...(c.traceState ? { traceState: new TraceState(c.traceState) } : {}),
    ...(c.isRemote !== undefined ? { isRemote: c.isRemote } : {}),
  };
}

/**
 * The sending side: numbers scopes and resources by identity (the SDK shares one object per tracer and one
 * resource per provider) and remembers which ones it already sent. A resource must have settled its asynchronous
 * attributes before {@link toWire} sees it (the caller waits for `waitForAsyncAttributes`).
 */
export class WireEncoder {
  private readonly scopes = new Map<InstrumentationScope, number>();
  private readonly resources = new Map<Resource, number>();
  private newScopes: WireScope[] = [];
  private newResources: WireResource[] = [];

  toWire(span: ReadableSpan): WireSpan {
    const { droppedAttributesCount: da, droppedEventsCount: de, droppedLinksCount: dl } = span;
    return {
      name: span.name,
      kind: span.kind,
      context: toWireContext(span.spanContext()),
      ...(span.parentSpanContext ? { parent: toWireContext(span.parentSpanContext) } : {}),
      startTime: span.startTime,
      endTime: span.endTime,
      duration: span.duration,
      status: span.status,
      attributes: span.attributes,
      ...(span.events.length > 0 ? { events: span.events } : {}),
      ...(span.links.length > 0 ? { links: span.links.map(toWireLink) } : {}),
      scope: this.scopeId(span.instrumentationScope),
      resource: this.resourceId(span.resource),
      ...(da || de || dl ? { dropped: [da, de, dl] as const } : {}),
    };
  }

  /** The batch of `spans` with the table entries first named since the last batch. */
  batch(spans: WireSpan[]): WireBatch {
    const b = { scopes: this.newScopes, resources: this.newResources, spans };
    this.newScopes = [];
    this.newResources = [];
    return b;
  }

  /** Forgets what was sent (a new worker knows nothing). */
  reset(): void {
    this.scopes.clear();
    this.resources.clear();
    this.newScopes = [];
    this.newResources = [];
  }

  private scopeId(scope: InstrumentationScope): number {
    let id = this.scopes.get(scope);
    if (id === undefined) {
      id = this.scopes.size;
      this.scopes.set(scope, id);
      this.newScopes.push({
        id,
        name: scope.name,
        ...(scope.version !== undefined ? { version: scope.version } : {}),
        ...(scope.schemaUrl !== undefined ? { schemaUrl: scope.schemaUrl } : {}),
      });
    }
    return id;
  }

  private resourceId(resource: Resource): number {
    let id = this.resources.get(resource);
    if (id === undefined) {
      id = this.resources.size;
      this.resources.set(resource, id);
      this.newResources.push({
        id,
        attributes: { ...resource.attributes },
        ...(resource.schemaUrl !== undefined ? { schemaUrl: resource.schemaUrl } : {}),
      });
    }
    return id;
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
    return batch.spans.map((w) => this.fromWire(w));
  }

  private fromWire(w: WireSpan): ReadableSpan {
    const scope = this.scopes.get(w.scope);
    const resource = this.resources.get(w.resource);
    if (!scope || !resource) throw new Error(`span ${w.name}: unknown scope ${w.scope} or resource ${w.resource}`);
    const context = fromWireContext(w.context);
    const [droppedAttributesCount, droppedEventsCount, droppedLinksCount] = w.dropped ?? [0, 0, 0];
    return {
      name: w.name,
      kind: w.kind,
      spanContext: () => context,
      ...(w.parent ? { parentSpanContext: fromWireContext(w.parent) } : {}),
      startTime: w.startTime,
      endTime: w.endTime,
      duration: w.duration,
      status: w.status,
      attributes: w.attributes,
      events: w.events ?? [],
      links: (w.links ?? []).map((l) => ({
        context: fromWireContext(l.context),
        ...(l.attributes ? { attributes: l.attributes } : {}),
        ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
      })),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount,
      droppedEventsCount,
      droppedLinksCount,
    };
  }
}
