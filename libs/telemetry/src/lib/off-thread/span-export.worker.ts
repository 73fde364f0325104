/**
 * The worker thread of {@link OffThreadSpanProcessor}: the standard batch span processor and OTLP trace exporter,
 * fed with the spans the main thread hands over (span-wire.ts). Everything that costs time per span when a trace is
 * exported (the OTLP encoding, the HTTP request, their garbage) runs here instead of on the event loop that serves
 * requests. The exporter and the batch processor read their `OTEL_*` settings (endpoint, headers, timeout,
 * compression, `OTEL_BSP_*`) from the environment as they would on the main thread (a worker starts with a copy of
 * the process's environment). Their diagnostics go back to the main thread's diag logger.
 *
 * Messages in: `{ type: 'spans', batch }`, `{ type: 'flush', id }`, `{ type: 'shutdown', id }`.
 * Messages out: `{ type: 'ack', spans }` once a batch was queued, `{ type: 'done', id }` when a flush or shutdown
 * finished, `{ type: 'diag', level, message, args }`.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { parentPort, workerData } from 'node:worker_threads';
import { otlpTraceExporter } from '../otlp-trace-exporter';
import type { OtlpProtocol } from '../telemetry-settings';
import { WireDecoder, type WireBatch } from './span-wire';

export interface SpanExportWorkerData {
  readonly protocol: OtlpProtocol;
  /** OTEL_LOG_LEVEL as a DiagLogLevel. */
  readonly logLevel: DiagLogLevel;
}

export type ToWorker =
  | { readonly type: 'spans'; readonly batch: WireBatch }
  | { readonly type: 'flush' | 'shutdown'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ack'; readonly spans: number }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'diag'; readonly level: keyof DiagLogger; readonly message: string; readonly args: string[] };

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('span-export.worker must run in a worker thread');
  const data = workerData as SpanExportWorkerData;
  const post = (m: FromWorker): void => port.postMessage(m);
  const forward =
    (level: keyof DiagLogger) =>
    (message: string, ...args: unknown[]): void =>
      post({ type: 'diag', level, message, args: args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))) });
  diag.setLogger(
    { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug'), verbose: forward('verbose') },
    { logLevel: data.logLevel, suppressOverrideMessage: true },
  );
  const processor = new BatchSpanProcessor(otlpTraceExporter(data.protocol));
  const decoder = new WireDecoder();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'spans') {
      try {
        for (const span of decoder.fromBatch(m.batch)) processor.onEnd(span);
      } catch (err) {
        diag.error('off-thread span export: a batch could not be read', err);
      }
      post({ type: 'ack', spans: m.batch.count });
      return;
    }
    const settle = (): void => post({ type: 'done', id: m.id });
    const work = m.type === 'flush' ? processor.forceFlush() : processor.shutdown();
    work.then(settle, (err: unknown) => {
      diag.warn(`off-thread span export: ${m.type} failed`, err);
      settle();
    });
  });
}

run();
