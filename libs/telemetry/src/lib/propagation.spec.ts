import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type SpanContext,
} from '@opentelemetry/api';
import {
  contextFromTraceparent,
  currentTraceparent,
  extractTraceContext,
  injectTraceHeaders,
  withConsumerSpan,
  withProducerSpan,
  withProducerSpans,
  withSpan,
  untracedBookkeeping,
} from './propagation';
import { traceLogFields } from './log-fields';
import { useTestTracing } from './testing/test-tracing';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function ctxOf(sc: Partial<SpanContext> = {}): ReturnType<typeof trace.setSpanContext> {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    ...sc,
  });
}

describe('trace context in event headers (W3C traceparent)', () => {
  let tracing: ReturnType<typeof useTestTracing>;
  beforeEach(() => {
    tracing = useTestTracing();
  });
  afterEach(() => tracing.restore());

  it('injects the traceparent of a context into message headers, keeping the other headers', () => {
    const headers = injectTraceHeaders({ 'berth-event-id': 'e1' }, ctxOf());
    expect(headers).toEqual({ 'berth-event-id': 'e1', traceparent: TRACEPARENT });
  });

  it('writes tracestate when the trace has one, and the unsampled flag', () => {
    const headers = injectTraceHeaders({}, ctxOf({ traceFlags: TraceFlags.NONE }));
    expect(headers['traceparent']).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
    const parsed = trace.getSpanContext(
      extractTraceContext({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'berth=x' }),
    );
    expect(parsed?.traceState?.get('berth')).toBe('x');
    expect(
      injectTraceHeaders({}, extractTraceContext({ traceparent: TRACEPARENT, tracestate: 'berth=x' }))['tracestate'],
    ).toBe('berth=x');
  });

  it('adds nothing outside a trace', () => {
    expect(injectTraceHeaders({ a: 'b' }, ROOT_CONTEXT)).toEqual({ a: 'b' });
    expect(currentTraceparent(ROOT_CONTEXT)).toBeUndefined();
  });

  it('extracts a remote parent from headers, whatever the header name case', () => {
    for (const name of ['traceparent', 'Traceparent', 'TRACEPARENT']) {
      const sc = trace.getSpanContext(extractTraceContext({ [name]: TRACEPARENT }));
      expect(sc).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    }
  });

  it('ignores absent and malformed traceparents (no parent, no error)', () => {
    const bad: Array<Record<string, string> | undefined> = [
      undefined,
      {},
      { traceparent: 'garbage' },
      { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` },
      { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` },
    ];
    for (const headers of bad) expect(trace.getSpanContext(extractTraceContext(headers))).toBeUndefined();
    expect(trace.getSpanContext(contextFromTraceparent(undefined))).toBeUndefined();
    expect(trace.getSpanContext(contextFromTraceparent('nope'))).toBeUndefined();
  });

  it('round-trips: what a producer injects, a consumer extracts as the same trace and parent', () => {
    const span = trace.getTracer('t').startSpan('request');
    const headers = context.with(trace.setSpan(ROOT_CONTEXT, span), () => injectTraceHeaders());
    span.end();
    const sc = trace.getSpanContext(extractTraceContext(headers));
    expect(sc?.traceId).toBe(span.spanContext().traceId);
    expect(sc?.spanId).toBe(span.spanContext().spanId);
    expect(currentTraceparent(trace.setSpan(ROOT_CONTEXT, span))).toBe(headers['traceparent']);
  });

  it('a consumer span continues the producer trace from the headers and is active inside the handler', async () => {
    const result = await withConsumerSpan(
      { topic: 'registry-events', headers: { traceparent: TRACEPARENT }, eventId: 'ev-1' },
      { group: 'webhook-dispatcher' },
      async (span) => {
        expect(trace.getActiveSpan()).toBe(span);
        expect(traceLogFields()).toEqual({ trace_id: TRACE_ID, span_id: span.spanContext().spanId, trace_flags: '01' });
        await withSpan('deliver', { 'berth.webhook_id': 'w1' }, () => Promise.resolve());
        return 42;
      },
    );
    expect(result).toBe(42);
    const [inner, consumer] = tracing.spans.getFinishedSpans();
    expect(consumer?.name).toBe('process registry-events');
    expect(consumer?.kind).toBe(SpanKind.CONSUMER);
    expect(consumer?.spanContext().traceId).toBe(TRACE_ID);
    expect(consumer?.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(consumer?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'registry-events',
      'messaging.consumer.group.name': 'webhook-dispatcher',
      'berth.event_id': 'ev-1',
    });
    expect(inner?.name).toBe('deliver');
    expect(inner?.parentSpanContext?.spanId).toBe(consumer?.spanContext().spanId);
  });

  it('a consumer span nests under an active span of the same trace (a Kafka instrumentation span)', async () => {
    const kafkaSpan = trace
      .getTracer('kafkajs')
      .startSpan('registry-events process', {}, extractTraceContext({ traceparent: TRACEPARENT }));
    await context.with(trace.setSpan(ROOT_CONTEXT, kafkaSpan), () =>
      withConsumerSpan({ topic: 'registry-events', headers: { traceparent: TRACEPARENT } }, { group: 'g' }, () =>
        Promise.resolve(),
      ),
    );
    kafkaSpan.end();
    const consumer = tracing.spans.getFinishedSpans().find((s) => s.name === 'process registry-events');
    expect(consumer?.parentSpanContext?.spanId).toBe(kafkaSpan.spanContext().spanId);
  });

  it('a consumer span follows the message, not an unrelated active trace', async () => {
    const unrelated = trace.getTracer('t').startSpan('poll loop');
    await context.with(trace.setSpan(ROOT_CONTEXT, unrelated), () =>
      withConsumerSpan({ topic: 't', headers: { traceparent: TRACEPARENT } }, { group: 'g' }, () => Promise.resolve()),
    );
    unrelated.end();
    const consumer = tracing.spans.getFinishedSpans().find((s) => s.name === 'process t');
    expect(consumer?.spanContext().traceId).toBe(TRACE_ID);
  });

  it('a failing handler marks the consumer span as an error and rethrows', async () => {
    await expect(
      withConsumerSpan({ topic: 't', headers: {} }, { group: 'g', system: 'in_process' }, () =>
        Promise.reject(new TypeError('boom')),
      ),
    ).rejects.toThrow('boom');
    const span = tracing.spans.getFinishedSpans()[0];
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['messaging.system']).toBe('in_process');
    expect(span?.events.map((e) => e.name)).toContain('exception');
  });

  it('a producer span continues a stored traceparent (the outbox relay) and hands its own context to the headers', async () => {
    const headers = await withProducerSpan(
      { topic: 'registry-events', traceparent: TRACEPARENT, headers: { 'berth-event-id': 'e1' }, eventId: 'e1' },
      (h) => Promise.resolve(h),
    );
    const producer = tracing.spans.getFinishedSpans()[0];
    expect(producer?.kind).toBe(SpanKind.PRODUCER);
    expect(producer?.name).toBe('send registry-events');
    expect(producer?.spanContext().traceId).toBe(TRACE_ID);
    expect(producer?.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(headers['berth-event-id']).toBe('e1');
    expect(headers['traceparent']).toBe(`00-${TRACE_ID}-${producer?.spanContext().spanId}-01`);
  });

  it('a batch gets one producer span per message, each under its own stored trace, and instrumentations are muted', async () => {
    const other = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const inner: Array<ReturnType<typeof trace.getActiveSpan>> = [];
    const headers = await withProducerSpans(
      'registry-events',
      [
        { traceparent: TRACEPARENT, headers: { 'berth-event-id': 'e1' }, eventId: 'e1' },
        { traceparent: other, eventId: 'e2' },
        { eventId: 'e3' },
      ],
      {},
      (h) => {
        // What a client instrumentation would do inside the publish: start a span and inject it.
        const span = trace.getTracer('kafkajs').startSpan('send');
        inner.push(span);
        injectTraceHeaders(h[0], trace.setSpan(context.active(), span));
        span.end();
        return Promise.resolve(h);
      },
    );
    const finished = tracing.spans.getFinishedSpans();
    expect(finished).toHaveLength(3);
    expect(inner[0]?.isRecording()).toBe(false);
    const [a, b, c] = finished;
    expect(a?.spanContext().traceId).toBe(TRACE_ID);
    expect(a?.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(b?.spanContext().traceId).toBe('1'.repeat(32));
    expect(b?.parentSpanContext?.spanId).toBe('2'.repeat(16));
    expect(c?.parentSpanContext).toBeUndefined();
    expect(headers[0]).toEqual({ 'berth-event-id': 'e1', traceparent: `00-${TRACE_ID}-${a?.spanContext().spanId}-01` });
    expect(headers[1]?.['traceparent']).toBe(`00-${'1'.repeat(32)}-${b?.spanContext().spanId}-01`);
    expect(finished.every((s) => s.kind === SpanKind.PRODUCER && s.name === 'send registry-events')).toBe(true);
  });

  it('a failed batch publish marks every producer span failed and rethrows', async () => {
    await expect(
      withProducerSpans('t', [{ traceparent: TRACEPARENT }, {}], {}, () => Promise.reject(new Error('down'))),
    ).rejects.toThrow('down');
    expect(tracing.spans.getFinishedSpans().map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
    ]);
  });

  it('bookkeeping runs without a span of its own, marks the active span, and the caller stays in its trace', async () => {
    const tracer = trace.getTracer('test');
    const server = tracer.startSpan('GET /v2/*');
    await context.with(trace.setSpan(context.active(), server), async () => {
      const result = await untracedBookkeeping('berth.rate_counted', async () => {
        // What the ioredis instrumentation sees: no parent span (it skips with requireParentSpan), and a span
        // started anyway is not recorded.
        expect(trace.getActiveSpan()).toBeUndefined();
        const stray = tracer.startSpan('evalsha');
        expect(stray.isRecording()).toBe(false);
        stray.end();
        await new Promise((resolve) => setImmediate(resolve));
        expect(trace.getActiveSpan()).toBeUndefined();
        return 42;
      });
      expect(result).toBe(42);
      // Back in the request's context: what follows is traced as before.
      expect(trace.getActiveSpan()).toBe(server);
      tracer.startSpan('SELECT').end();
    });
    server.end();
    const finished = tracing.spans.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual(['SELECT', 'GET /v2/*']);
    expect(finished[1]?.attributes['berth.rate_counted']).toBe(true);
  });

  it('bookkeeping outside a trace just runs', () => {
    expect(untracedBookkeeping('berth.rate_counted', () => 'done')).toBe('done');
    expect(tracing.spans.getFinishedSpans()).toEqual([]);
  });

  it('log fields are empty outside a trace', () => {
    expect(traceLogFields()).toEqual({});
  });
});
