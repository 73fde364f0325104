/**
 * What the standard OpenTelemetry environment variables ask for, resolved once (pure: a test passes its own
 * environment). https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 *
 * Berth's reading of them:
 * - `OTEL_SDK_DISABLED=true`: no tracing, no auto-instrumentation, no OTLP export. `/metrics` still answers
 *   (it is part of the operator contract), served by a metrics-only provider.
 * - Traces: `OTEL_TRACES_EXPORTER` (default `otlp`; `none`; `console`). OTLP needs an endpoint
 *   (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`): without one nothing is exported
 *   (no default `localhost:4318` that would fail on every batch). Spans are then still created but not recorded
 *   (sampled out unless `OTEL_TRACES_SAMPLER` says otherwise): log lines and event headers carry trace and span ids
 *   across services, and no CPU goes into filling and ending spans that nothing would send.
 * - Protocol: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `..._METRICS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`:
 *   `http/protobuf` (default) or `http/json`. `grpc` is not bundled: nothing is exported and a warning says so.
 * - Metrics: `OTEL_METRICS_EXPORTER` (default `prometheus,otlp`): `prometheus` is the `/metrics` endpoint on
 *   the service's own port (never a second port); `otlp` pushes every `OTEL_METRIC_EXPORT_INTERVAL` ms
 *   (default 60000) when an endpoint is configured; `none` leaves `/metrics` empty and pushes nothing.
 * - Logs stay pino JSON on stdout (with trace ids); `OTEL_LOGS_EXPORTER` is not used.
 * - Endpoints, headers, timeouts, compression, batch sizes and the sampler are read by the exporters and the
 *   SDK themselves from their usual variables.
 */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TraceExporterChoice = { kind: 'otlp'; protocol: OtlpProtocol } | { kind: 'console' };

export interface TelemetrySettings {
  disabled: boolean;
  traceExporters: TraceExporterChoice[];
  prometheus: boolean;
  otlpMetrics?: { protocol: OtlpProtocol; intervalMs: number };
  /**
   * Whether spans should be recorded: a trace exporter is configured, or the operator chose a sampler
   * (`OTEL_TRACES_SAMPLER`). Without either nothing would read a recorded span; the ids still propagate.
   */
  recordSpans: boolean;
  /** Things the operator asked for that will not happen, said once at start. */
  warnings: string[];
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
}

function nonEmpty(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}

function protocol(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS', warnings: string[]): OtlpProtocol | undefined {
  const raw =
    (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? '').trim() ||
    'http/protobuf';
  if (raw === 'http/protobuf' || raw === 'http/json') return raw;
  warnings.push(
    `OTLP protocol "${raw}" for ${signal.toLowerCase()} is not supported (use http/protobuf or http/json): ${signal.toLowerCase()} are not exported`,
  );
  return undefined;
}

export function resolveTelemetrySettings(env: NodeJS.ProcessEnv): TelemetrySettings {
  const warnings: string[] = [];
  const disabled = (env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true';
  const hasEndpoint = (signal: 'TRACES' | 'METRICS'): boolean =>
    nonEmpty(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]) || nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);

  const traceExporters: TraceExporterChoice[] = [];
  const traces = list(env['OTEL_TRACES_EXPORTER']) ?? ['otlp'];
  if (!disabled && !traces.includes('none')) {
    for (const name of traces) {
      if (name === 'otlp') {
        if (!hasEndpoint('TRACES')) continue;
        const p = protocol(env, 'TRACES', warnings);
        if (p) traceExporters.push({ kind: 'otlp', protocol: p });
      } else if (name === 'console') {
        traceExporters.push({ kind: 'console' });
      } else {
        warnings.push(`OTEL_TRACES_EXPORTER "${name}" is not supported (otlp, console, none)`);
      }
    }
  }

  const metricsList = list(env['OTEL_METRICS_EXPORTER']) ?? ['prometheus', 'otlp'];
  const none = metricsList.includes('none');
  let otlpMetrics: TelemetrySettings['otlpMetrics'];
  if (!disabled && !none && metricsList.includes('otlp') && hasEndpoint('METRICS')) {
    const p = protocol(env, 'METRICS', warnings);
    const interval = Number(env['OTEL_METRIC_EXPORT_INTERVAL'] ?? '');
    if (p) otlpMetrics = { protocol: p, intervalMs: Number.isFinite(interval) && interval > 0 ? interval : 60000 };
  }
  for (const name of metricsList) {
    if (!['prometheus', 'otlp', 'none'].includes(name))
      warnings.push(`OTEL_METRICS_EXPORTER "${name}" is not supported (prometheus, otlp, none)`);
  }

  const recordSpans = !disabled && (traceExporters.length > 0 || nonEmpty(env['OTEL_TRACES_SAMPLER']));
  return { disabled, traceExporters, prometheus: !none && metricsList.includes('prometheus'), otlpMetrics, recordSpans, warnings };
}
