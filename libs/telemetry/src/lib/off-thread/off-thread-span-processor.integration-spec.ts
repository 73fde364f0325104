import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type DiagLogger } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { startOtlpReceiver, type OtlpReceiver } from '../testing/otlp-receiver';
import { shutdownTelemetry, spanProcessor, startTelemetry } from '../telemetry';
import { MainThreadSpanProcessor } from '../otlp/main-thread-span-processor';
import { OffThreadSpanProcessor } from './off-thread-span-processor';

/**
 * OffThreadSpanProcessor with its real worker thread and OTLP exporter, sending to a receiver on 127.0.0.1.
 */

const ENV_KEYS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
] as const;

/** Sets `OTEL_*` for the processor built next (its worker copies the environment when it starts). */
function withEnv(values: Partial<Record<(typeof ENV_KEYS)[number], string>>): void {
  for (const k of ENV_KEYS) delete process.env[k];
  Object.assign(process.env, values);
}

function tracerFor(processor: SpanProcessor, sampled = true): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'off-thread-test' }),
    spanProcessors: [processor],
    ...(sampled ? {} : { sampler: new AlwaysOffSampler() }),
  });
}

function endSpans(provider: BasicTracerProvider, count: number, prefix: string): void {
  const tracer = provider.getTracer('berth.http', '1.0.0');
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan(`${prefix} ${i}`, { kind: SpanKind.SERVER, attributes: { 'test.index': i, 'url.path': `/v2/x/${i}` } });
    span.end();
  }
}

/** Diag messages at warn and above while `fn` runs. */
function captureDiag(): { messages: string[]; restore(): void } {
  const messages: string[] = [];
  const keep = (m: string): void => {
    messages.push(m);
  };
  const logger: DiagLogger = { error: keep, warn: keep, info: () => undefined, debug: () => undefined, verbose: () => undefined };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return { messages, restore: () => diag.disable() };
}

async function until(what: string, check: () => boolean, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('OffThreadSpanProcessor', () => {
  let receiver: OtlpReceiver;
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });

  afterEach(async () => {
    await receiver.close();
    for (const k of ENV_KEYS) {
      const v = saved[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('exports every sampled span over OTLP/protobuf from its worker; forceFlush reaches the exporter', async () => {
    // A schedule delay longer than the test: only forceFlush sends them.
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const processor = new OffThreadSpanProcessor();
    const provider = tracerFor(processor);
    endSpans(provider, 1000, 'GET');
    await processor.forceFlush();
    const traces = receiver.requests().filter((r) => r.path === '/v1/traces');
    expect(traces.every((r) => r.contentType === 'application/x-protobuf')).toBe(true);
    // 512 per request, as the batch span processor sends them.
    expect(traces).toHaveLength(2);
    const spans = receiver.spans();
    expect(spans).toHaveLength(1000);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(1000);
    const s7 = spans.find((s) => s.name === 'GET 7');
    expect(s7).toMatchObject({
      kind: 2,
      service: 'off-thread-test',
      scope: 'berth.http',
      attributes: { 'test.index': 7, 'url.path': '/v2/x/7' },
    });
    await provider.shutdown();
  });

  it('sends a request once it holds OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans, and the rest OTEL_BSP_SCHEDULE_DELAY later', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '1500' });
    const processor = new OffThreadSpanProcessor();
    const provider = tracerFor(processor);
    const started = Date.now();
    endSpans(provider, 250, 'batch');
    // Two full requests go at once; the last 50 wait for the delay.
    await until('two requests', () => receiver.spans().length >= 200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(receiver.spans()).toHaveLength(200);
    await until('the delayed request', () => receiver.spans().length === 250);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(receiver.requests().filter((r) => r.path === '/v1/traces')).toHaveLength(3);
    await provider.shutdown();
  });

  it('waits for a resource to settle its asynchronous attributes, and not a moment less than the schedule delay', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const processor = new OffThreadSpanProcessor();
    const host = new Promise<string>((resolve) => setTimeout(() => resolve('detected-host'), 100));
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'async-resource', 'host.name': host }),
      spanProcessors: [processor],
    });
    expect(provider.getTracer('t').startSpan('probe')).toBeDefined();
    endSpans(provider, 10, 'early');
    await host;
    await new Promise((r) => setTimeout(r, 300));
    // Settled, but the batch is neither full nor due: nothing sent yet.
    expect(receiver.requests().filter((r) => r.path === '/v1/traces')).toHaveLength(0);
    await processor.forceFlush();
    expect(receiver.spans().filter((s) => s.name.startsWith('early'))).toHaveLength(10);
    expect(receiver.spans().every((s) => s.service === 'async-resource')).toBe(true);
    await provider.shutdown();
  });

  it('exports nothing for spans that are not sampled', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    const processor = new OffThreadSpanProcessor();
    const provider = tracerFor(processor, false);
    endSpans(provider, 20, 'unsampled');
    // And one sampled span under an explicit sampled parent: the only one exported.
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const tracer = tracerFor(processor).getTracer('berth.http');
    tracer.startSpan('sampled', {}, parent).end();
    await processor.forceFlush();
    expect(receiver.spans().map((s) => s.name)).toEqual(['sampled']);
    expect(receiver.spans()[0]).toMatchObject({ traceId: 'a'.repeat(32), parentSpanId: 'b'.repeat(16) });
    await provider.shutdown();
  });

  it('shutdown exports what is still buffered, then ignores later spans', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const processor = new OffThreadSpanProcessor();
    const provider = tracerFor(processor);
    endSpans(provider, 300, 'before');
    await processor.shutdown();
    expect(receiver.spans()).toHaveLength(300);
    const before = receiver.requests().length;
    endSpans(provider, 10, 'after');
    await processor.forceFlush();
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests()).toHaveLength(before);
  });

  it('a worker that dies is reported, its spans counted as dropped, and a new one started at the next hand-over', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const log = captureDiag();
    try {
      const processor = new OffThreadSpanProcessor({ respawnIntervalMs: 1000 });
      const provider = tracerFor(processor);
      endSpans(provider, 10, 'first');
      await processor.forceFlush();
      expect(receiver.spans()).toHaveLength(10);
      // The worker goes away (as after a crash).
      await (processor as unknown as { worker: Worker }).worker.terminate();
      await until('the report of the stopped worker', () => log.messages.some((m) => m.includes('the worker stopped')));
      // Within the interval no new worker: these are dropped, and said to be.
      endSpans(provider, 5, 'lost');
      await processor.forceFlush();
      await until('the drop report', () => log.messages.includes('Dropped 5 spans because maxQueueSize reached'));
      // After it, a new worker.
      await new Promise((r) => setTimeout(r, 1100));
      endSpans(provider, 7, 'again');
      await processor.forceFlush();
      expect(receiver.spans()).toHaveLength(17);
      expect(receiver.spans().filter((s) => s.name.startsWith('again')).map((s) => s.attributes['test.index']).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(receiver.spans().some((s) => s.name.startsWith('lost'))).toBe(false);
      await provider.shutdown();
    } finally {
      log.restore();
    }
  });

  it('a span that cannot be encoded is dropped and reported, never thrown into span.end()', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const log = captureDiag();
    try {
      const processor = new OffThreadSpanProcessor();
      const provider = tracerFor(processor);
      endSpans(provider, 1, 'good');
      // A processor may be handed anything: here a span whose attributes cannot be read (made by a provider of its own).
      const span = new BasicTracerProvider().getTracer('berth.http').startSpan('bad');
      span.end();
      const readable = span as unknown as ReadableSpan;
      const bad = {
        ...readable,
        spanContext: () => readable.spanContext(),
        get attributes(): never {
          throw new Error('unreadable');
        },
      };
      expect(() => {
        for (let i = 0; i < 3; i++) processor.onEnd(bad as ReadableSpan);
      }).not.toThrow();
      endSpans(provider, 1, 'also good');
      await processor.forceFlush();
      await until('the report', () => log.messages.some((m) => m.includes('a span could not be encoded')));
      await until('the drop report', () => log.messages.includes('Dropped 3 spans because maxQueueSize reached'));
      // The spans around them are whole and exported.
      expect(receiver.spans().map((s) => s.name).sort()).toEqual(['also good 0', 'good 0']);
      await provider.shutdown();
    } finally {
      log.restore();
    }
  });

  it('is the OTLP processor where the process has more than one CPU; one CPU exports on the main thread', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const two = spanProcessor({ kind: 'otlp', protocol: 'http/protobuf' }, 2);
    const one = spanProcessor({ kind: 'otlp', protocol: 'http/protobuf' }, 1);
    const json = spanProcessor({ kind: 'otlp', protocol: 'http/json' }, 2);
    expect(two).toBeInstanceOf(OffThreadSpanProcessor);
    // One CPU: the same encoding, the requests sent from this thread.
    expect(one).toBeInstanceOf(MainThreadSpanProcessor);
    // OTLP/JSON is encoded by the OpenTelemetry exporter, on this thread.
    expect(json).toBeInstanceOf(BatchSpanProcessor);
    expect(spanProcessor({ kind: 'console' }, 2)).toBeInstanceOf(SimpleSpanProcessor);
    await Promise.all([two.shutdown(), one.shutdown(), json.shutdown()]);
  });

  it('is what startTelemetry exports OTLP traces with on this machine', async () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const handle = startTelemetry({ serviceName: 'off-thread-start-test' });
    try {
      // (This machine has two CPUs or more: the bench and CI machines do.)
      expect(handle.traceExporters).toEqual(['otlp http/protobuf (worker thread)']);
    } finally {
      await shutdownTelemetry();
    }
  });

  it('a request the collector refuses is reported and leaves the bound: later spans are not dropped', async () => {
    const refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(400, { 'content-type': 'text/plain' }).end('no'));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    withEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`,
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const log = captureDiag();
    try {
      const processor = new OffThreadSpanProcessor();
      const provider = tracerFor(processor);
      for (let round = 0; round < 3; round++) {
        endSpans(provider, 100, `round ${round}`);
        await processor.forceFlush();
      }
      expect(log.messages.filter((m) => m.includes('100 spans could not be exported'))).toHaveLength(3);
      expect(log.messages.some((m) => m.startsWith('Dropped'))).toBe(false);
      await provider.shutdown();
    } finally {
      log.restore();
      refusing.closeAllConnections();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  describe('with a collector that does not answer', () => {
    let stuck: Server;
    let stuckUrl: string;
    beforeEach(async () => {
      // Takes requests and never answers them.
      stuck = createServer(() => undefined);
      await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
      stuckUrl = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      stuck.closeAllConnections();
      await new Promise<void>((resolve) => stuck.close(() => resolve()));
    });

    it('holds at most OTEL_BSP_MAX_QUEUE_SIZE spans and reports the rest as dropped, as the batch processor words it', async () => {
      withEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: stuckUrl,
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      });
      const log = captureDiag();
      try {
        const processor = new OffThreadSpanProcessor();
        const provider = tracerFor(processor);
        // In one turn of the event loop, no answer can come back: 100 are held, 900 dropped at once.
        endSpans(provider, 1000, 'flood');
        await until('the drop report', () => log.messages.some((m) => /^Dropped \d+ spans because maxQueueSize reached$/.test(m)));
        expect(log.messages).toContain('Dropped 900 spans because maxQueueSize reached');
        await provider.shutdown();
      } finally {
        log.restore();
      }
    });
  });
});
