import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * Encodes ended spans as an OTLP/protobuf `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1/trace_service.proto`), one span at a time as they end.
 *
 * The same bytes as `ProtobufTraceSerializer.serializeRequest` of `@opentelemetry/otlp-transformer` for the same spans
 * in the same order (otlp-span-encoder.spec.ts compares them on every kind of span), at a fraction of the cost per
 * span: the library encodes a whole batch at export time, measuring every message before writing it and encoding each
 * attribute key and id anew for every span; here each span is written once into its scope's buffer when it ends, the
 * encoded form of each attribute key is kept (a process names few keys), and ids go from hex to bytes without an
 * intermediate array. Keeping every trace of a cached manifest GET (one span) spent about 3 µs per span in the
 * library's encoder; see docs/performance.md.
 *
 * Field numbers and order follow the proto files: `trace/v1/trace.proto` (ResourceSpans, ScopeSpans, Span, Event,
 * Link, Status), `common/v1/common.proto` (KeyValue, AnyValue, ArrayValue, KeyValueList, InstrumentationScope) and
 * `resource/v1/resource.proto`. Spans are grouped by resource and then by instrumentation scope (by identity, as the
 * SDK shares one object per provider and tracer), in the order each was first seen.
 */
export class OtlpSpanEncoder {
  private readonly groups = new Map<Resource, Map<InstrumentationScope, ProtoWriter>>();
  private readonly writers = new Map<InstrumentationScope, { resource: Resource; writer: ProtoWriter }>();
  private readonly request = new ProtoWriter(64 * 1024);
  private spanCount = 0;

  /** Spans added since the last {@link finish}. */
  get count(): number {
    return this.spanCount;
  }

  /** Encodes `span` (ended) into the request being built; throws (and adds nothing) if the span cannot be read. */
  add(span: ReadableSpan): void {
    let scopes = this.groups.get(span.resource);
    if (!scopes) {
      scopes = new Map();
      this.groups.set(span.resource, scopes);
    }
    let out = scopes.get(span.instrumentationScope);
    if (!out) {
      out = this.writerFor(span.resource, span.instrumentationScope);
      scopes.set(span.instrumentationScope, out);
    }
    const before = out.pos;
    try {
      out.tag(2, LEN); // ScopeSpans.spans
      const at = out.beginLarge();
      writeSpan(out, span);
      out.endLarge(at);
    } catch (err) {
      // Nothing of a span that could not be read stays in the request.
      out.pos = before;
      throw err;
    }
    this.spanCount++;
  }

  /**
   * The buffer of a scope's spans under `resource`, kept from one request to the next (a process has one resource and
   * few scopes). A scope also met under another resource gets a buffer of its own.
   */
  private writerFor(resource: Resource, scope: InstrumentationScope): ProtoWriter {
    const kept = this.writers.get(scope);
    if (kept?.resource === resource) {
      kept.writer.reset();
      return kept.writer;
    }
    const writer = new ProtoWriter(16 * 1024);
    if (!kept && this.writers.size < MAX_KEPT_WRITERS) this.writers.set(scope, { resource, writer });
    return writer;
  }

  /**
   * The request holding every span added since the last call (undefined when there is none); starts a new one.
   * Resources are read now: their asynchronous attributes must have settled.
   */
  finish(): Uint8Array | undefined {
    if (this.spanCount === 0) return undefined;
    const w = this.request;
    w.reset();
    for (const [resource, scopes] of this.groups) {
      w.tag(1, LEN); // ExportTraceServiceRequest.resource_spans
      const resourceSpans = w.begin();
      w.tag(1, LEN); // ResourceSpans.resource
      const res = w.begin();
      writeAttributes(w, resource.attributes, 1);
      w.tag(2, VARINT); // Resource.dropped_attributes_count
      w.varint(0);
      w.end(res);
      for (const [scope, spans] of scopes) {
        w.tag(2, LEN); // ResourceSpans.scope_spans
        const scopeSpans = w.begin();
        writeScope(w, scope);
        w.raw(spans.buf, 0, spans.pos);
        if (scope.schemaUrl) {
          w.tag(3, LEN);
          w.string(scope.schemaUrl);
        }
        w.end(scopeSpans);
      }
      if (resource.schemaUrl) {
        w.tag(3, LEN);
        w.string(resource.schemaUrl);
      }
      w.end(resourceSpans);
    }
    this.groups.clear();
    this.spanCount = 0;
    // A copy in a buffer of its own (not Buffer's shared pool): the caller may move it to another thread.
    const request = new Uint8Array(w.pos);
    request.set(w.buf.subarray(0, w.pos));
    return request;
  }
}

/** Scope buffers kept for reuse, at most (a process that creates tracers without end gets fresh ones beyond). */
const MAX_KEPT_WRITERS = 64;

/** Protobuf wire types. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** `SpanFlags`: the low byte is the W3C trace flags; these say whether the parent (or linked) context is remote. */
const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (isRemote ? FLAGS_IS_REMOTE : 0);
}

/** Fields 1 to 3 of a Span and of a Link alike: trace id, span id, trace state (when there is one). */
function writeIds(w: ProtoWriter, ctx: SpanContext): void {
  w.tag(1, LEN);
  w.hexBytes(ctx.traceId);
  w.tag(2, LEN);
  w.hexBytes(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
}

function writeSpan(w: ProtoWriter, span: ReadableSpan): void {
  const ctx = span.spanContext();
  writeIds(w, ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hexBytes(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(span.name);
  // The API's SpanKind starts at INTERNAL = 0; the proto's at SPAN_KIND_UNSPECIFIED = 0.
  const kind = (span.kind as number | undefined) == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    w.tag(6, VARINT);
    w.varint(kind);
  }
  w.tag(7, I64);
  w.hrTime(span.startTime);
  w.tag(8, I64);
  w.hrTime(span.endTime);
  writeAttributes(w, span.attributes, 9);
  w.tag(10, VARINT);
  w.varint(span.droppedAttributesCount);
  for (const event of span.events) writeEvent(w, event);
  w.tag(12, VARINT);
  w.varint(span.droppedEventsCount);
  for (const link of span.links) writeLink(w, link);
  w.tag(14, VARINT);
  w.varint(span.droppedLinksCount);
  w.tag(15, LEN); // Span.status
  const status = w.begin();
  if (span.status.message) {
    w.tag(2, LEN);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.varint(span.status.code);
  w.end(status);
  w.tag(16, I32);
  w.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
}

function writeEvent(w: ProtoWriter, event: TimedEvent): void {
  w.tag(11, LEN); // Span.events
  const at = w.begin();
  w.tag(1, I64);
  w.hrTime(event.time);
  w.tag(2, LEN);
  w.string(event.name);
  if (event.attributes) writeAttributes(w, event.attributes, 3);
  w.tag(4, VARINT);
  w.varint(event.droppedAttributesCount ?? 0);
  w.end(at);
}

function writeLink(w: ProtoWriter, link: Link): void {
  w.tag(13, LEN); // Span.links
  const at = w.begin();
  const ctx: SpanContext = link.context;
  writeIds(w, ctx);
  if (link.attributes) writeAttributes(w, link.attributes, 4);
  w.tag(5, VARINT);
  w.varint(link.droppedAttributesCount ?? 0);
  w.tag(6, I32);
  w.fixed32(spanFlags(ctx.traceFlags, ctx.isRemote));
  w.end(at);
}

function writeScope(w: ProtoWriter, scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number }): void {
  w.tag(1, LEN); // ScopeSpans.scope
  const at = w.begin();
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  if (scope.attributes) writeAttributes(w, scope.attributes, 3);
  if (scope.droppedAttributesCount) {
    w.tag(4, VARINT);
    w.varint(scope.droppedAttributesCount);
  }
  w.end(at);
}

/** Attribute keys already encoded (tag of KeyValue.key, length, UTF-8), up to KEY_CACHE_LIMIT of them. */
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_LIMIT = 4096;

function encodedKey(key: string): Buffer {
  let bytes = keyCache.get(key);
  if (bytes) return bytes;
  const k = new ProtoWriter(key.length * 3 + 8);
  k.tag(1, LEN);
  k.string(key);
  bytes = Buffer.from(k.buf.subarray(0, k.pos));
  if (keyCache.size < KEY_CACHE_LIMIT) keyCache.set(key, bytes);
  return bytes;
}

/** `attributes` as repeated KeyValue in field `field` (own enumerable keys, in their order). */
function writeAttributes(w: ProtoWriter, attributes: Attributes, field: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    w.tag(field, LEN);
    const kv = w.begin();
    const k = encodedKey(key);
    w.raw(k, 0, k.length);
    w.tag(2, LEN); // KeyValue.value
    const value = w.begin();
    writeAnyValue(w, attributes[key]);
    w.end(value);
    w.end(kv);
  }
}

const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/**
 * An attribute value as AnyValue: strings, booleans, integers within int64 (int_value), other numbers (double_value),
 * byte arrays, arrays (ArrayValue) and plain objects (KeyValueList); nothing for null, undefined or anything else.
 */
function writeAnyValue(w: ProtoWriter, value: AttributeValue | unknown): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, LEN);
      w.string(value);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_END) {
        w.tag(3, VARINT);
        w.varint(value);
      } else {
        w.tag(4, I64);
        w.double(value);
      }
      return;
    case 'object':
      break;
    case 'bigint':
    case 'symbol':
    case 'undefined':
    case 'function':
      return;
  }
  if (value === null) return;
  if (value instanceof Uint8Array) {
    w.tag(7, LEN);
    w.varint(value.length);
    w.raw(value, 0, value.length);
  } else if (Array.isArray(value)) {
    w.tag(5, LEN);
    const array = w.begin();
    for (const item of value as unknown[]) {
      w.tag(1, LEN); // ArrayValue.values
      const at = w.begin();
      writeAnyValue(w, item);
      w.end(at);
    }
    w.end(array);
  } else {
    w.tag(6, LEN);
    const list = w.begin();
    const object = value as Record<string, unknown>;
    for (const key in object) {
      if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
      w.tag(1, LEN); // KeyValueList.values
      const kv = w.begin();
      w.tag(1, LEN);
      w.string(key);
      w.tag(2, LEN);
      const at = w.begin();
      writeAnyValue(w, object[key]);
      w.end(at);
      w.end(kv);
    }
    w.end(list);
  }
}

/** Strings up to this many UTF-16 units are written by hand when they are ASCII; longer ones by Buffer. */
const SHORT_STRING = 64;

/** A growing buffer of protobuf output. Nested messages reserve one length byte and move their body if it needs more. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A non-negative integer below 2^53, or a negative one as the ten bytes of its 64-bit two's complement. */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (value >= 0 && value < 0x80) {
      buf[pos++] = value;
      this.pos = pos;
      return;
    }
    if (value >= 0 && value <= 0xffffffff) {
      while (value > 0x7f) {
        buf[pos++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
      buf[pos++] = value;
      this.pos = pos;
      return;
    }
    // 64 bits: low and high words (two's complement for negative values).
    let lo: number;
    let hi: number;
    if (value >= 0) {
      lo = value >>> 0;
      hi = Math.floor(value / 0x100000000) >>> 0;
    } else {
      const abs = -value;
      let l = abs >>> 0;
      let h = Math.floor(abs / 0x100000000) >>> 0;
      l = ~l >>> 0;
      h = ~h >>> 0;
      l = (l + 1) >>> 0;
      if (l === 0) h = (h + 1) >>> 0;
      lo = l;
      hi = h;
    }
    while (hi > 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** HrTime [seconds, nanoseconds] as fixed64 nanoseconds since the epoch. */
  hrTime(time: HrTime): void {
    const seconds = time[0];
    if (seconds !== this.seconds) this.splitSeconds(seconds);
    // The seconds' nanoseconds as two 32-bit words, plus the nanoseconds (< 2^30): at most one carry.
    let low = this.secondsLow + time[1];
    let high = this.secondsHigh;
    if (low >= 0x100000000) {
      low -= 0x100000000;
      high = (high + 1) >>> 0;
    }
    this.ensure(8);
    this.buf.writeUInt32LE(low >>> 0, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  /** The last seconds value seen and `seconds * 1e9` in 32-bit words (spans ending in the same second share them). */
  private seconds = Number.NaN;
  private secondsLow = 0;
  private secondsHigh = 0;

  private splitSeconds(seconds: number): void {
    // seconds * 1e9 exceeds 2^53 for today's dates: multiply the low 16 bits and the rest separately (exact).
    const lowSeconds = seconds % 0x10000;
    const a = lowSeconds * 1e9; // < 2^46
    const b = ((seconds - lowSeconds) / 0x10000) * 1e9; // the rest, in units of 2^16 nanoseconds
    const bLow16 = b % 0x10000;
    const low = a + bLow16 * 0x10000; // < 2^47
    const lowWord = low % 0x100000000;
    this.secondsLow = lowWord;
    this.secondsHigh = ((b - bLow16) / 0x10000 + (low - lowWord) / 0x100000000) % 0x100000000;
    this.seconds = seconds;
  }

  /** A length-delimited string in UTF-8. */
  string(value: string): void {
    const n = value.length;
    if (n < SHORT_STRING) {
      this.ensure(n + 1);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.buf.write(value, this.pos, bytes, 'utf8');
    this.pos += bytes;
  }

  /** A length-delimited bytes field from an even-length hex string (a trace or span id). */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.ensure(n + 1);
    this.buf[this.pos++] = n;
    const written = this.buf.write(hex, this.pos, n, 'hex');
    // Invalid hex stops early: the rest are zeros (as an invalid id is all zeros in the API).
    if (written < n) this.buf.fill(0, this.pos + written, this.pos + n);
    this.pos += n;
  }

  raw(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 32) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = bytes[i] as number;
    } else {
      this.buf.set(bytes.subarray(start, end), this.pos);
    }
    this.pos += n;
  }

  /** Starts a nested message after its tag: reserves its length byte and returns where the body starts. */
  begin(): number {
    this.ensure(1);
    this.pos++;
    return this.pos;
  }

  /** As {@link begin}, for a message likely 128 to 16,383 bytes long (a span): reserves two length bytes. */
  beginLarge(): number {
    this.ensure(2);
    this.pos += 2;
    return this.pos;
  }

  /** Ends the nested message begun by {@link beginLarge} at `start`. */
  endLarge(start: number): void {
    const length = this.pos - start;
    const buf = this.buf;
    if (length >= 0x80 && length < 0x4000) {
      buf[start - 2] = (length & 0x7f) | 0x80;
      buf[start - 1] = length >>> 7;
    } else if (length < 0x80) {
      // One length byte: the body moves back by one.
      buf[start - 2] = length;
      buf.copyWithin(start - 1, start, this.pos);
      this.pos--;
    } else {
      // Three or more: one byte of the reservation is used by end(), which moves the body forward.
      this.pos--;
      buf.copyWithin(start - 1, start, this.pos + 1);
      this.end(start - 1);
    }
  }

  /** Ends the nested message begun at `start`: writes its length, moving the body when the length needs more bytes. */
  end(start: number): void {
    const length = this.pos - start;
    if (length < 0x80) {
      this.buf[start - 1] = length;
      return;
    }
    let extra = 1;
    for (let v = length >>> 14; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + extra, start, this.pos);
    let v = length;
    let p = start - 1;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += extra;
  }
}
