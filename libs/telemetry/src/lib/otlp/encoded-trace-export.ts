import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import type * as OtlpNodeHttp from '@opentelemetry/otlp-exporter-base/build/src/index-node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';

// The package's `node-http` entry point (its `exports` map), which this repository's module resolution cannot name
// in an import; its types are read from the file it maps to.
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = require('@opentelemetry/otlp-exporter-base/node-http') as typeof OtlpNodeHttp;

/** An OTLP/protobuf `ExportTraceServiceRequest` already encoded (OtlpSpanEncoder), and how many spans it holds. */
export interface EncodedSpans {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

/** The requests arrive encoded: the exporter's serializer passes their bytes through and reads the answers as usual. */
const passThrough: ISerializer<EncodedSpans, IExportTraceServiceResponse> = {
  serializeRequest: (request) => request.bytes,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/**
 * Sends encoded trace requests with the standard OTLP/protobuf trace exporter's transport (OpenTelemetry's OTLP HTTP
 * export delegate): endpoint, headers, compression, timeout, retries with backoff and the concurrency limit all
 * come from the `OTEL_EXPORTER_OTLP_*` variables, as for `@opentelemetry/exporter-trace-otlp-proto`.
 */
export class EncodedTraceExport {
  private readonly exporter = new OTLPExporterBase<EncodedSpans>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
      passThrough,
      'otlp_http_span_exporter',
      { name: 'span', countItems: (request: EncodedSpans) => request.spans },
      undefined,
    ),
  );
  /** Exports not yet finished: a flush or shutdown waits for them. */
  private readonly exporting = new Set<Promise<void>>();

  /**
   * Sends `request`; `answered` is called once its export finished, sent or given up (after the exporter's retries,
   * within `OTEL_EXPORTER_OTLP_TIMEOUT`), which is reported on the diag logger.
   */
  send(request: EncodedSpans, answered: () => void): void {
    const finished = new Promise<void>((resolve) =>
      this.exporter.export(request, (result: ExportResult) => {
        if (result.code !== ExportResultCode.SUCCESS)
          diag.error(`OTLP span export: ${request.spans} spans could not be exported`, result.error ?? 'failed');
        answered();
        resolve();
      }),
    );
    this.exporting.add(finished);
    void finished.then(() => this.exporting.delete(finished));
  }

  /** Waits for the exports under way, then flushes or shuts down the exporter. Never rejects. */
  async settle(type: 'flush' | 'shutdown'): Promise<void> {
    try {
      await Promise.all(this.exporting);
      await (type === 'flush' ? this.exporter.forceFlush() : this.exporter.shutdown());
    } catch (err) {
      diag.warn(`OTLP span export: ${type} failed`, err);
    }
  }
}
