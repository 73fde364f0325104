import { diag, TraceFlags, type Context, type DiagLogger } from '@opentelemetry/api';
import { getNumberFromEnv } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, SpanExportWorkerData, ToWorker } from './span-export.worker';
import { otelLogLevel } from '../diag-level';
import { OtlpSpanEncoder } from '../otlp/otlp-span-encoder';
/** A worker that died is started again at the next hand-over, at most this often (by default). */
const RESPAWN_INTERVAL_MS = 10_000;
/** Dropped spans are reported on the diag logger at most this often. */
const DROP_REPORT_MS = 1_000;
/** The worker's heap (MiB): the batch processor's queue (OTEL_BSP_MAX_QUEUE_SIZE spans) and a few export requests. */
const WORKER_HEAP_MB = 128;

/**
 * Exports spans over OTLP/protobuf, the HTTP requests sent from a worker thread: the span processor behind
 * `OTEL_EXPORTER_OTLP_*` trace export (protocol `http/protobuf`, the default).
 *
 * Each ended, sampled span is encoded into the OTLP request being built as it ends (OtlpSpanEncoder: the same bytes
 * as the OpenTelemetry serializer, at about a third of its cost). A request goes out, as the batch span processor's
 * would, once it holds `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans (512) or `OTEL_BSP_SCHEDULE_DELAY` ms (5,000) after its
 * first span: its bytes move to the worker without a copy, and the worker sends them with the OTLP HTTP exporter's
 * transport (span-export.worker.ts: endpoint, headers, compression, timeout and retries from `OTEL_EXPORTER_OTLP_*`).
 * The event loop that serves requests thus does only the encoding; the worker wakes once per request, not per span.
 *
 * Bounded like the batch processor: spans in requests not yet answered, plus those of the request being built, never
 * exceed `OTEL_BSP_MAX_QUEUE_SIZE` (2048); beyond that spans are dropped and counted, and the count is reported on the
 * diag logger as the batch processor words it. A worker that dies is reported and started again (at most every 10 s);
 * the requests it held are lost, as a crashed exporter's would be. `forceFlush` and `shutdown` send what is buffered
 * and wait for the worker's answers, so a graceful stop still exports every span.
 */
export class OffThreadSpanProcessor implements SpanProcessor {
  private readonly encoder = new OtlpSpanEncoder();
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Spans handed to the worker whose requests have not been answered. */
  private inFlight = 0;
  private dropped = 0;
  private dropReport: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private spawnedAt = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();
  /** Set while a span's resource settles its asynchronous attributes (nothing is handed over meanwhile). */
  private settling: Promise<void> | undefined;
  /** A hand-over came while settling: it happens once settled. */
  private handOffWhenSettled = false;
  private shutdownOnce: Promise<void> | undefined;

  private readonly respawnIntervalMs: number;

  /** Throws when the worker cannot be started (the caller then exports on this thread). */
  constructor(options: { respawnIntervalMs?: number } = {}) {
    this.maxQueue = getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048;
    this.maxBatch = Math.max(1, Math.min(getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512, this.maxQueue));
    this.delayMs = getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY') ?? 5000;
    this.respawnIntervalMs = options.respawnIntervalMs ?? RESPAWN_INTERVAL_MS;
    this.spawn();
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Nothing to do before a span ends.
  }

  onEnd(span: ReadableSpan): void {
    if (this.shutdownOnce || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.inFlight + this.encoder.count >= this.maxQueue) {
      this.drop(1);
      return;
    }
    // Never an exception into `span.end()` on a request's path: a span that cannot be encoded is dropped.
    try {
      this.encoder.add(span);
    } catch (err) {
      diag.error('off-thread span export: a span could not be encoded', err);
      this.drop(1);
      return;
    }
    if (span.resource.asyncAttributesPending && !this.settling) {
      this.settling = (span.resource.waitForAsyncAttributes?.() ?? Promise.resolve()).then(
        () => this.settled(),
        () => this.settled(),
      );
    }
    if (this.encoder.count >= this.maxBatch) this.handOff();
    else this.timer ??= setTimeout(() => this.handOff(), this.delayMs).unref();
  }

  forceFlush(): Promise<void> {
    return this.shutdownOnce ?? this.request('flush');
  }

  shutdown(): Promise<void> {
    this.shutdownOnce ??= (async () => {
      if (this.settling) await this.settling;
      await this.request('shutdown');
      if (this.dropReport) clearTimeout(this.dropReport);
      this.reportDrops();
      const worker = this.worker;
      this.worker = undefined;
      await worker?.terminate();
    })();
    return this.shutdownOnce;
  }

  private settled(): void {
    this.settling = undefined;
    if (this.handOffWhenSettled) this.handOff();
  }

  /** Hands the request being built to the worker (started again first if it died). */
  private handOff(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.handOffWhenSettled = this.settling !== undefined;
    if (this.settling) return;
    const spans = this.encoder.count;
    if (spans === 0) return;
    const bytes = this.encoder.finish();
    if (!bytes || (!this.worker && !this.respawn())) {
      this.drop(spans);
      return;
    }
    try {
      this.worker?.postMessage({ type: 'request', bytes, spans } satisfies ToWorker, [bytes.buffer as ArrayBuffer]);
      this.inFlight += spans;
    } catch (err) {
      // Never an exception into `span.end()`: a request that cannot be handed over is dropped.
      diag.error('off-thread span export: a request could not be handed to the worker', err);
      this.drop(spans);
    }
  }

  /** Hands over what waits, then asks the worker to flush or shut down; resolves when it did (or is gone). */
  private async request(type: 'flush' | 'shutdown'): Promise<void> {
    if (this.settling) await this.settling;
    this.handOff();
    if (!this.worker) return;
    const id = this.nextId++;
    await new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      this.worker?.postMessage({ type, id } satisfies ToWorker);
    });
  }

  private spawn(): void {
    const data: SpanExportWorkerData = { logLevel: otelLogLevel(process.env) };
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { ...data, bootstrap: bootstrapPaths() },
      // Not the process's flags (V8 heap sizes, a profiler): the worker loads TypeScript itself (see BOOTSTRAP).
      execArgv: [],
      // The exporter's settings as this module sees them (a copy, taken now).
      env: { ...process.env },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      name: 'berth-span-export',
    });
    worker.unref();
    this.inFlight = 0;
    this.spawnedAt = Date.now();
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.received(m));
    worker.on('error', (err) => diag.error('off-thread span export: the worker failed', err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.shutdownOnce) diag.error(`off-thread span export: the worker stopped (exit code ${code}); its spans are lost`);
      this.drop(this.inFlight);
      this.inFlight = 0;
      for (const resolve of this.waiting.values()) resolve();
      this.waiting.clear();
    });
  }

  private respawn(): boolean {
    if (this.shutdownOnce || Date.now() - this.spawnedAt < this.respawnIntervalMs) return false;
    try {
      this.spawn();
      return true;
    } catch (err) {
      diag.error('off-thread span export: the worker could not be started again', err);
      return false;
    }
  }

  private received(m: FromWorker): void {
    if (m.type === 'answered') {
      this.inFlight = Math.max(0, this.inFlight - m.spans);
    } else if (m.type === 'done') {
      this.waiting.get(m.id)?.();
      this.waiting.delete(m.id);
    } else {
      const log: DiagLogger = diag;
      log[m.level](m.message, ...m.args);
    }
  }

  private drop(count: number): void {
    if (count <= 0) return;
    this.dropped += count;
    this.dropReport ??= setTimeout(() => this.reportDrops(), DROP_REPORT_MS).unref();
  }

  private reportDrops(): void {
    this.dropReport = undefined;
    if (this.dropped === 0) return;
    // The batch span processor's words: dashboards and the bench look for them.
    diag.warn(`Dropped ${this.dropped} spans because maxQueueSize reached`);
    this.dropped = 0;
  }
}

/** Where the worker finds its code, and how it loads TypeScript when the process does not (a test runner's worker). */
function bootstrapPaths(): { entry: string; register: string; tsconfig: string } {
  return {
    entry: path.join(__dirname, 'span-export.worker.ts'),
    register: require.resolve('@swc-node/register'),
    tsconfig: path.resolve(__dirname, '../../../../../tsconfig.base.json'),
  };
}

/** The worker's first code: TypeScript support (as scripts/register.cjs gives the main thread), then the worker. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const b = workerData.bootstrap;
if (!require.extensions['.ts']) {
  process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || b.tsconfig;
  require(b.register);
}
require(b.entry);
`;
