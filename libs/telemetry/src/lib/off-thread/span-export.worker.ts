/**
 * The worker thread of {@link OffThreadSpanProcessor}: sends the OTLP/protobuf trace requests the main thread built
 * (each a complete `ExportTraceServiceRequest`) with the OpenTelemetry OTLP HTTP export delegate, the transport of the
 * standard OTLP/protobuf trace exporter: endpoint, headers, compression, timeout, retries with backoff and the
 * concurrency limit all come from the `OTEL_EXPORTER_OTLP_*` variables as they would on the main thread (a worker
 * starts with a copy of the process's environment). Its diagnostics go back to the main thread's diag logger.
 *
 * Messages in: `{ type: 'request', bytes, spans }`, `{ type: 'flush', id }`, `{ type: 'shutdown', id }`.
 * Messages out: `{ type: 'answered', spans }` once a request's export finished (sent, or given up: its spans leave
 * the main thread's bound either way), `{ type: 'done', id }` when a flush or shutdown finished,
 * `{ type: 'diag', level, message, args }`.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import type * as OtlpNodeHttp from '@opentelemetry/otlp-exporter-base/build/src/index-node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import { parentPort, workerData } from 'node:worker_threads';

export interface SpanExportWorkerData {
  /** OTEL_LOG_LEVEL as a DiagLogLevel. */
  readonly logLevel: DiagLogLevel;
}

/** A request built on the main thread: its bytes and how many spans it holds. */
export interface EncodedSpans {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

export type ToWorker =
  | ({ readonly type: 'request' } & EncodedSpans)
  | { readonly type: 'flush' | 'shutdown'; readonly id: number };

export type FromWorker =
  | { readonly type: 'answered'; readonly spans: number }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'diag'; readonly level: keyof DiagLogger; readonly message: string; readonly args: string[] };

// The package's `node-http` entry point (its `exports` map), which this repository's module resolution cannot name
// in an import; its types are read from the file it maps to.
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = require('@opentelemetry/otlp-exporter-base/node-http') as typeof OtlpNodeHttp;

/** The requests arrive encoded: the exporter's serializer passes their bytes through and reads the answers as usual. */
const passThrough: ISerializer<EncodedSpans, IExportTraceServiceResponse> = {
  serializeRequest: (request) => request.bytes,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/** The standard OTLP/protobuf trace exporter's transport and settings, fed with requests already encoded. */
export function encodedTraceExporter(): OTLPExporterBase<EncodedSpans> {
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
      passThrough,
      'otlp_http_span_exporter',
      { name: 'span', countItems: (request: EncodedSpans) => request.spans },
      undefined,
    ),
  );
}

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
  const exporter = encodedTraceExporter();
  /** Exports not yet finished: a flush or shutdown waits for them. */
  const exporting = new Set<Promise<void>>();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'request') {
      const request: EncodedSpans = { bytes: m.bytes, spans: m.spans };
      const finished = new Promise<void>((resolve) =>
        exporter.export(request, (result: ExportResult) => {
          if (result.code !== ExportResultCode.SUCCESS)
            diag.error(`off-thread span export: ${request.spans} spans could not be exported`, result.error ?? 'failed');
          post({ type: 'answered', spans: request.spans });
          resolve();
        }),
      );
      exporting.add(finished);
      void finished.then(() => exporting.delete(finished));
      return;
    }
    const settle = (): void => post({ type: 'done', id: m.id });
    const work = Promise.all(exporting).then(() => (m.type === 'flush' ? exporter.forceFlush() : exporter.shutdown()));
    work.then(settle, (err: unknown) => {
      diag.warn(`off-thread span export: ${m.type} failed`, err);
      settle();
    });
  });
}

if (parentPort && (workerData as { bootstrap?: unknown } | null)?.bootstrap) run();
