import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { WireDecoder, WireEncoder, type WireBatch } from './span-wire';

/** The OTLP/JSON request an exporter would send for `spans`, as an object. */
function otlp(spans: ReadableSpan[]): unknown {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('not serialised');
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** Through the encoder, a structured clone (what postMessage does) and the decoder. */
function roundTrip(encoder: WireEncoder, decoder: WireDecoder, spans: ReadableSpan[]): ReadableSpan[] {
  const batch = encoder.encode(spans);
  return decoder.fromBatch(structuredClone(batch));
}

describe('span-wire', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'wire-test', 'service.instance.id': 'i-1', 'host.cpus': 2 }, {
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
    }),
    spanLimits: { attributeCountLimit: 4, eventCountLimit: 1, linkCountLimit: 1 },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const http: Tracer = provider.getTracer('berth.http', '1.2.3', { schemaUrl: 'https://example.test/schema' });
  const pg: Tracer = provider.getTracer('@opentelemetry/instrumentation-pg');

  beforeEach(() => exporter.reset());

  function sampleSpans(): ReadableSpan[] {
    const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      traceState: new TraceState('vendor=a,other=b'),
      isRemote: true,
    });
    const server = http.startSpan(
      'GET /v2/*',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'url.path': '/v2/a/manifests/v1', 'server.port': 5000 },
        links: [
          { context: { traceId: '3'.repeat(32), spanId: '4'.repeat(16), traceFlags: 1 } },
          {
            context: { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 0, traceState: new TraceState('k=v') },
            attributes: { 'link.reason': 'retry' },
          },
        ],
      },
      remoteParent,
    );
    // Over the limits of 4 attributes and 1 event: dropped counts travel too.
    server.setAttributes({ 'berth.rate_counted': true, 'http.response.status_code': 500, 'extra.one': 'x', 'extra.list': ['a', 'b'] });
    server.addEvent('exception', { 'exception.type': 'Error', 'exception.message': 'boom' }, [1_700_000_000, 123]);
    server.addEvent('second');
    server.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    const child = pg.startSpan('SELECT berth', { kind: SpanKind.CLIENT }, trace.setSpan(remoteParent, server));
    child.setAttribute('db.system.name', 'postgresql');
    child.end();
    server.end();
    const internal = http.startSpan('plain');
    internal.end();
    return exporter.getFinishedSpans().slice();
  }

  it('keeps everything an OTLP exporter reads: the encoded request is identical', () => {
    const spans = sampleSpans();
    expect(spans).toHaveLength(3);
    const copies = roundTrip(new WireEncoder(), new WireDecoder(), spans);
    expect(otlp(copies)).toEqual(otlp(spans));
    // Spot checks of what the comparison covers (so that it cannot pass on two empty requests).
    const server = copies.find((s) => s.kind === SpanKind.SERVER);
    // A child span carries its parent's trace state.
    expect(server?.spanContext().traceState?.serialize()).toBe('vendor=a,other=b');
    expect(server?.parentSpanContext).toMatchObject({ spanId: 'b7ad6b7169203331', isRemote: true });
    expect(server?.parentSpanContext?.traceState?.serialize()).toBe('vendor=a,other=b');
    expect(server?.droppedAttributesCount).toBeGreaterThan(0);
    expect(server?.droppedEventsCount).toBe(1);
    expect(server?.droppedLinksCount).toBe(1);
    // (The SDK keeps the last link when over the limit.)
    expect(server?.links[0]?.context.traceState?.serialize()).toBe('k=v');
    expect(server?.links[0]?.attributes).toEqual({ 'link.reason': 'retry' });
    expect(server?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'failed' });
    expect(server?.instrumentationScope).toEqual({ name: 'berth.http', version: '1.2.3', schemaUrl: 'https://example.test/schema' });
    expect(server?.resource.schemaUrl).toBe('https://opentelemetry.io/schemas/1.30.0');
    expect(server?.ended).toBe(true);
  });

  it('sends each scope and resource once, and the receiver resolves them in later batches', () => {
    const encoder = new WireEncoder();
    const decoder = new WireDecoder();
    const first = sampleSpans();
    const firstBatch: WireBatch = encoder.encode(first);
    expect(firstBatch.scopes.map((s) => s.name).sort()).toEqual(['@opentelemetry/instrumentation-pg', 'berth.http']);
    expect(firstBatch.resources).toHaveLength(1);
    decoder.fromBatch(structuredClone(firstBatch));

    exporter.reset();
    const second = sampleSpans();
    const secondBatch = encoder.encode(second);
    expect(secondBatch.scopes).toEqual([]);
    expect(secondBatch.resources).toEqual([]);
    // Attribute keys too: the first batch named them all.
    expect(firstBatch.keys).toContain('http.request.method');
    expect(secondBatch.keys).toEqual([]);
    const copies = decoder.fromBatch(structuredClone(secondBatch));
    expect(otlp(copies)).toEqual(otlp(second));
    // One resource object for all: the exporter groups the spans under one resource.
    expect(new Set(copies.map((s) => s.resource)).size).toBe(1);
  });

  it('after reset, sends the tables again (a new worker knows none of them)', () => {
    const encoder = new WireEncoder();
    encoder.encode(sampleSpans());
    encoder.reset();
    exporter.reset();
    const spans = sampleSpans();
    const batch = encoder.encode(spans);
    expect(batch.scopes).toHaveLength(2);
    expect(otlp(new WireDecoder().fromBatch(structuredClone(batch)))).toEqual(otlp(spans));
  });

  it('a batch is one flat array of primitives, links and events aside', () => {
    const batch = new WireEncoder().encode(sampleSpans());
    const plain = batch.data.filter((v) => v === undefined || v === null || ['string', 'number', 'boolean'].includes(typeof v));
    // Not plain: the server span's extras (events, links) and its one array-valued attribute, if kept.
    expect(batch.data.length - plain.length).toBeLessThanOrEqual(2);
    expect(batch.count).toBe(3);
  });

  it('refuses a batch whose values do not add up', () => {
    const encoder = new WireEncoder();
    const batch = encoder.encode(sampleSpans());
    expect(() => new WireDecoder().fromBatch({ ...batch, data: [...batch.data, 'extra'] })).toThrow(/left over/);
    expect(() => new WireDecoder().fromBatch({ ...batch, keys: [] })).toThrow(/unknown attribute key/);
  });

  it('refuses a span naming a table entry it never received', () => {
    const encoder = new WireEncoder();
    encoder.encode(sampleSpans());
    exporter.reset();
    const later = encoder.encode(sampleSpans());
    expect(() => new WireDecoder().fromBatch(later)).toThrow(/unknown scope/);
  });
});
