import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../testing/otlp-proto';
import { OtlpSpanEncoder, ProtoWriter } from './otlp-span-encoder';

/** Spans recorded by the SDK (one provider per resource). */
function record(resourceAttributes: Attributes, body: (provider: BasicTracerProvider) => void): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  body(provider);
  return exporter.getFinishedSpans();
}

function encode(spans: readonly ReadableSpan[]): Buffer {
  const encoder = new OtlpSpanEncoder();
  for (const span of spans) encoder.add(span);
  expect(encoder.count).toBe(spans.length);
  const bytes = encoder.finish();
  if (!bytes) throw new Error('no request');
  return Buffer.from(bytes);
}

/** The OpenTelemetry serializer's request for the same spans: the reference. */
function reference(spans: readonly ReadableSpan[]): Buffer {
  const bytes = ProtobufTraceSerializer.serializeRequest([...spans]);
  if (!bytes) throw new Error('no reference request');
  return Buffer.from(bytes);
}

/** A server span shaped like Berth's, with `extra` attributes. */
function serverSpans(count: number, extra: Attributes = {}): ReadableSpan[] {
  return record({ 'service.name': 'registry-frontend', 'service.version': '0.1.0' }, (provider) => {
    const tracer = provider.getTracer('berth.http', '1.2.3');
    for (let i = 0; i < count; i++) {
      const span = tracer.startSpan('GET /v2/*', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      span.setAttributes({
        'http.request.method': 'GET',
        'url.path': `/v2/team/app/manifests/v${i}`,
        'server.port': 5000 + i,
        'client.address': '127.0.0.1',
        ...extra,
      });
      span.setAttribute('http.response.status_code', 200);
      span.end();
    }
  });
}

describe('OtlpSpanEncoder', () => {
  it("writes the OpenTelemetry serializer's bytes for Berth's server spans", () => {
    const spans = serverSpans(300);
    const bytes = encode(spans);
    expect(bytes.equals(reference(spans))).toBe(true);
    // And a general protobuf decoder reads them as those spans.
    const decoded = decodeTraceRequest(bytes) as {
      resourceSpans: Array<{ resource: { attributes: unknown[] }; scopeSpans: Array<{ scope: { name: string; version: string }; spans: Array<Record<string, unknown>> }> }>;
    };
    const scopeSpans = decoded.resourceSpans[0]?.scopeSpans[0];
    expect(scopeSpans?.scope).toMatchObject({ name: 'berth.http', version: '1.2.3' });
    expect(scopeSpans?.spans).toHaveLength(300);
    const first = spans[0] as ReadableSpan;
    const got = scopeSpans?.spans[0] as Record<string, unknown>;
    expect(Buffer.from(got['traceId'] as string, 'base64').toString('hex')).toBe(first.spanContext().traceId);
    expect(Buffer.from(got['spanId'] as string, 'base64').toString('hex')).toBe(first.spanContext().spanId);
    expect(got['kind']).toBe(2);
    // Nanoseconds since the epoch, exactly (beyond 2^53: compared as integers).
    expect(BigInt(got['startTimeUnixNano'] as string)).toBe(BigInt(first.startTime[0]) * 1_000_000_000n + BigInt(first.startTime[1]));
    expect(BigInt(got['endTimeUnixNano'] as string)).toBe(BigInt(first.endTime[0]) * 1_000_000_000n + BigInt(first.endTime[1]));
  });

  it('groups spans by resource and scope in the order first seen, as the serializer does', () => {
    const a = record({ 'service.name': 'a' }, (provider) => {
      provider.getTracer('one').startSpan('a1').end();
      provider.getTracer('two', '2.0.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' }).startSpan('a2').end();
      provider.getTracer('one').startSpan('a3').end();
    });
    const b = record({ 'service.name': 'b', 'host.name': 'ħøst' }, (provider) => {
      provider.getTracer('one').startSpan('b1').end();
    });
    const spans = [a[0], b[0], a[1], a[2]] as ReadableSpan[];
    expect(encode(spans).equals(reference(spans))).toBe(true);
  });

  it('keeps the spans of one scope object apart when they come under two resources, batch after batch', () => {
    const [first, second] = serverSpans(2) as [ReadableSpan, ReadableSpan];
    const elsewhere = resourceFromAttributes({ 'service.name': 'elsewhere' });
    const moved = { ...second, spanContext: () => second.spanContext(), resource: elsewhere } as ReadableSpan;
    const spans = [first, moved, second];
    const encoder = new OtlpSpanEncoder();
    for (let batch = 0; batch < 2; batch++) {
      for (const span of spans) encoder.add(span);
      expect(Buffer.from(encoder.finish() as Uint8Array).equals(reference(spans))).toBe(true);
    }
  });

  it('encodes parents (local and remote), trace state, events, links, status and dropped counts alike', () => {
    const spans = record({ 'service.name': 'rich' }, (provider) => {
      const tracer = provider.getTracer('berth.rich');
      const remote = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
        traceState: new TraceState('vendor=value,other=x'),
      });
      const parent = tracer.startSpan('consume', { kind: SpanKind.CONSUMER }, remote);
      const child = tracer.startSpan(
        'handle',
        {
          kind: SpanKind.INTERNAL,
          links: [
            {
              context: { traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true, traceState: new TraceState('k=v') },
              attributes: { 'messaging.kafka.offset': 42 },
            },
            { context: { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: TraceFlags.SAMPLED } },
          ],
        },
        trace.setSpan(ROOT_CONTEXT, parent),
      );
      child.addEvent('retry', { attempt: 2, 'error.type': 'ECONNRESET' });
      child.addEvent('plain');
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'the collector did not answer: ünïcödé' });
      child.end();
      parent.setStatus({ code: SpanStatusCode.OK });
      parent.end();
      const producer = tracer.startSpan('send', { kind: SpanKind.PRODUCER });
      producer.end();
      tracer.startSpan('client', { kind: SpanKind.CLIENT }).end();
    });
    expect(spans).toHaveLength(4);
    expect(encode(spans).equals(reference(spans))).toBe(true);
  });

  it('encodes every attribute value type alike: strings of any length and script, integers, doubles, arrays', () => {
    const long = 'x'.repeat(200);
    const spans = serverSpans(3, {
      empty: '',
      ascii63: 'a'.repeat(63),
      ascii64: 'b'.repeat(64),
      long,
      unicode: 'Grüße, 世界 🚢',
      lone: 'bad \ud800 surrogate',
      yes: true,
      no: false,
      zero: 0,
      small: 127,
      medium: 128,
      u32: 0xffffffff,
      above32: 2 ** 32 + 5,
      maxSafe: Number.MAX_SAFE_INTEGER,
      pow62: 2 ** 62,
      negative: -1,
      negativeBig: -(2 ** 40) - 3,
      minInt64: -(2 ** 63),
      double: 3.25,
      tiny: 5e-324,
      huge: 2 ** 64,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      strings: ['a', 'ü', long],
      numbers: [1, -2, 2.5],
      bools: [true, false],
      emptyArray: [],
      holes: ['a', null, undefined, 'b'] as unknown as string[],
    });
    expect(encode(spans).equals(reference(spans))).toBe(true);
  });

  it('encodes values the SDK would not record (byte arrays, objects, null) as the serializer does', () => {
    const [span] = serverSpans(1);
    const odd = {
      ...(span as ReadableSpan),
      spanContext: () => (span as ReadableSpan).spanContext(),
      attributes: {
        bytes: new Uint8Array([0, 1, 254, 255]),
        object: { nested: 'yes', deeper: { n: 1 }, list: [1, 'two'] },
        nothing: null,
        fn: (() => 1) as unknown,
        big: 10n as unknown,
      } as unknown as Attributes,
    } as ReadableSpan;
    expect(encode([odd]).equals(reference([odd]))).toBe(true);
  });

  it('writes message lengths of one, two and three bytes (spans under 128 bytes, typical, over 16 KiB)', () => {
    const short = record({}, (provider) => provider.getTracer('s').startSpan('x').end());
    const huge = serverSpans(2, { blob: 'z'.repeat(40_000), many: Array.from({ length: 300 }, (_, i) => `item-${i}`) });
    const mixed = [...short, ...huge, ...serverSpans(5)];
    expect(encode(short).equals(reference(short))).toBe(true);
    expect(encode(mixed).equals(reference(mixed))).toBe(true);
  });

  it('starts a new request after finish; an empty one is undefined', () => {
    const encoder = new OtlpSpanEncoder();
    expect(encoder.finish()).toBeUndefined();
    const first = serverSpans(2);
    const second = serverSpans(3);
    for (const s of first) encoder.add(s);
    expect(Buffer.from(encoder.finish() as Uint8Array).equals(reference(first))).toBe(true);
    for (const s of second) encoder.add(s);
    const again = encoder.finish() as Uint8Array;
    expect(Buffer.from(again).equals(reference(second))).toBe(true);
    // The request owns its memory (it may be moved to another thread).
    expect(again.byteOffset).toBe(0);
    expect(again.buffer.byteLength).toBe(again.byteLength);
    expect(encoder.count).toBe(0);
  });

  it('a span that cannot be read throws and leaves the request as it was', () => {
    const good = serverSpans(2);
    const encoder = new OtlpSpanEncoder();
    encoder.add(good[0] as ReadableSpan);
    const broken = {
      ...(good[1] as ReadableSpan),
      spanContext: () => (good[1] as ReadableSpan).spanContext(),
      get attributes(): Attributes {
        throw new Error('unreadable');
      },
    } as ReadableSpan;
    expect(() => encoder.add(broken)).toThrow('unreadable');
    expect(encoder.count).toBe(1);
    encoder.add(good[1] as ReadableSpan);
    expect(Buffer.from(encoder.finish() as Uint8Array).equals(reference(good))).toBe(true);
  });
});

describe('ProtoWriter', () => {
  it('writes varints of 32 and 64 bits and negative numbers as ten bytes', () => {
    const w = new ProtoWriter(1);
    const bytes = (v: number): string => {
      w.reset();
      w.varint(v);
      return w.buf.subarray(0, w.pos).toString('hex');
    };
    expect(bytes(0)).toBe('00');
    expect(bytes(300)).toBe('ac02');
    expect(bytes(0xffffffff)).toBe('ffffffff0f');
    expect(bytes(2 ** 35)).toBe('8080808080' + '01');
    expect(bytes(-1)).toBe('ffffffffffffffffff01');
  });

  it('writes HrTime as exact nanoseconds across second boundaries and for dates far from now', () => {
    const w = new ProtoWriter(1);
    const nanos = (t: [number, number]): bigint => {
      w.reset();
      w.hrTime(t);
      return w.buf.readBigUInt64LE(0);
    };
    for (const t of [
      [0, 0],
      [1_763_950_000, 999_999_999],
      [1_763_950_001, 0],
      [1_763_950_000, 5],
      [4_102_444_800, 123_456_789],
      [18_446_744_073, 709_551_615],
    ] as Array<[number, number]>) {
      expect(nanos(t)).toBe(BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]));
    }
  });
});
