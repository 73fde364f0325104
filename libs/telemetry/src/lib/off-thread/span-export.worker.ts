/**
 * The worker thread of {@link OffThreadSpanProcessor}: sends the OTLP/protobuf trace requests the main thread built
 * (each a complete `ExportTraceServiceRequest`) with the standard exporter's transport (EncodedTraceExport), which
 * reads its `OTEL_EXPORTER_OTLP_*` settings from the environment as it would on the main thread (a worker starts with
 * a copy of the process's environment). Its diagnostics go back to the main thread's diag logger.
 *
 * Messages in: `{ type: 'request', bytes, spans }`, `{ type: 'flush', id }`, `{ type: 'shutdown', id }`.
 * Messages out: `{ type: 'answered', spans }` once a request's export finished (sent, or given up: its spans leave
 * the main thread's bound either way), `{ type: 'done', id }` when a flush or shutdown finished,
 * `{ type: 'diag', level, message, args }`.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { parentPort, workerData } from 'node:worker_threads';
import { EncodedTraceExport, type EncodedSpans } from '../otlp/encoded-trace-export';

export interface SpanExportWorkerData {
  /** OTEL_LOG_LEVEL as a DiagLogLevel. */
  readonly logLevel: DiagLogLevel;
}

export type ToWorker =
  | ({ readonly type: 'request' } & EncodedSpans)
  | { readonly type: 'flush' | 'shutdown'; readonly id: number };

export type FromWorker =
  | { readonly type: 'answered'; readonly spans: number }
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
  const exports = new EncodedTraceExport();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'request') {
      const spans = m.spans;
      exports.send({ bytes: m.bytes, spans }, () => post({ type: 'answered', spans }));
      return;
    }
    void exports.settle(m.type).then(() => post({ type: 'done', id: m.id }));
  });
}

run();
