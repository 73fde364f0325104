import { diag, type DiagLogger } from '@opentelemetry/api';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, SpanExportWorkerData, ToWorker } from './span-export.worker';
import { otelLogLevel } from '../diag-level';
import { EncodingSpanProcessor } from '../otlp/encoding-span-processor';

/** A worker that died is started again at the next request, at most this often (by default). */
const RESPAWN_INTERVAL_MS = 10_000;
/** The worker's heap (MiB): a few requests of 512 spans and the exporter's. */
const WORKER_HEAP_MB = 128;

/**
 * OTLP/protobuf trace export whose HTTP requests are sent from a worker thread: the span processor behind
 * `OTEL_EXPORTER_OTLP_*` trace export (protocol `http/protobuf`, the default) when the process may use more than one
 * CPU. Spans are encoded and batched on this thread (EncodingSpanProcessor); each finished request moves to the worker
 * without a copy (its buffer is transferred), and the worker sends it with the standard exporter's transport
 * (span-export.worker.ts). The event loop that serves requests thus only encodes; the worker wakes once per request.
 *
 * A worker that dies is reported and started again at the next request (at most every 10 s); the requests it held are
 * lost and counted as dropped, as a crashed exporter's would be. `forceFlush` and `shutdown` reach through to it.
 */
export class OffThreadSpanProcessor extends EncodingSpanProcessor {
  private worker: Worker | undefined;
  private spawnedAt = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();
  private readonly respawnIntervalMs: number;

  /** Throws when the worker cannot be started (the caller then exports on this thread). */
  constructor(options: { respawnIntervalMs?: number } = {}) {
    super('off-thread span export');
    this.respawnIntervalMs = options.respawnIntervalMs ?? RESPAWN_INTERVAL_MS;
    this.spawn();
  }

  protected send(bytes: Uint8Array, spans: number): boolean {
    if (!this.worker && !this.respawn()) return false;
    this.worker?.postMessage({ type: 'request', bytes, spans } satisfies ToWorker, [bytes.buffer as ArrayBuffer]);
    return this.worker !== undefined;
  }

  protected async settle(type: 'flush' | 'shutdown'): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const id = this.nextId++;
    await new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ type, id } satisfies ToWorker);
    });
    if (type === 'shutdown') {
      this.worker = undefined;
      await worker.terminate();
    }
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
    this.spawnedAt = Date.now();
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.received(m));
    worker.on('error', (err) => diag.error('off-thread span export: the worker failed', err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.isShutdown) diag.error(`off-thread span export: the worker stopped (exit code ${code}); its spans are lost`);
      this.lost();
      for (const resolve of this.waiting.values()) resolve();
      this.waiting.clear();
    });
  }

  private respawn(): boolean {
    if (this.isShutdown || Date.now() - this.spawnedAt < this.respawnIntervalMs) return false;
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
      this.answered(m.spans);
    } else if (m.type === 'done') {
      this.waiting.get(m.id)?.();
      this.waiting.delete(m.id);
    } else {
      const log: DiagLogger = diag;
      log[m.level](m.message, ...m.args);
    }
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
