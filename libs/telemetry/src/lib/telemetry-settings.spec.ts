import { resolveTelemetrySettings } from './telemetry-settings';

describe('telemetry settings from OTEL_* variables', () => {
  it('exports nothing, records no spans and serves /metrics when no endpoint is configured', () => {
    expect(resolveTelemetrySettings({})).toEqual({
      disabled: false,
      traceExporters: [],
      prometheus: true,
      otlpMetrics: undefined,
      recordSpans: false,
      warnings: [],
    });
  });

  it('records spans when they are exported or when the operator chose a sampler', () => {
    expect(resolveTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).recordSpans).toBe(true);
    expect(resolveTelemetrySettings({ OTEL_TRACES_EXPORTER: 'console' }).recordSpans).toBe(true);
    expect(resolveTelemetrySettings({ OTEL_TRACES_SAMPLER: 'always_on' }).recordSpans).toBe(true);
    expect(resolveTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).recordSpans).toBe(
      false,
    );
    expect(resolveTelemetrySettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_SAMPLER: 'always_on' }).recordSpans).toBe(false);
  });

  it('exports traces and metrics over OTLP/HTTP protobuf by default when an endpoint is set', () => {
    const s = resolveTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(s.traceExporters).toEqual([{ kind: 'otlp', protocol: 'http/protobuf' }]);
    expect(s.otlpMetrics).toEqual({ protocol: 'http/protobuf', intervalMs: 60000 });
    expect(s.prometheus).toBe(true);
  });

  it('honours http/json, per-signal protocols and endpoints, and the export interval', () => {
    const s = resolveTelemetrySettings({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
    });
    expect(s.traceExporters).toEqual([{ kind: 'otlp', protocol: 'http/json' }]);
    expect(s.otlpMetrics).toEqual({ protocol: 'http/protobuf', intervalMs: 5000 });
  });

  it('OTEL_TRACES_EXPORTER=none exports no traces; OTEL_METRICS_EXPORTER=none no metrics at all', () => {
    const s = resolveTelemetrySettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    });
    expect(s.traceExporters).toEqual([]);
    expect(s.otlpMetrics).toBeUndefined();
    expect(s.prometheus).toBe(false);
  });

  it('OTEL_METRICS_EXPORTER picks between /metrics and OTLP push', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(resolveTelemetrySettings({ ...env, OTEL_METRICS_EXPORTER: 'prometheus' })).toMatchObject({
      prometheus: true,
      otlpMetrics: undefined,
    });
    expect(resolveTelemetrySettings({ ...env, OTEL_METRICS_EXPORTER: 'otlp' })).toMatchObject({
      prometheus: false,
      otlpMetrics: { protocol: 'http/protobuf' },
    });
  });

  it('console traces are written even without an endpoint', () => {
    expect(resolveTelemetrySettings({ OTEL_TRACES_EXPORTER: 'console' }).traceExporters).toEqual([{ kind: 'console' }]);
  });

  it('OTEL_SDK_DISABLED=true turns tracing and push off but keeps /metrics', () => {
    const s = resolveTelemetrySettings({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' });
    expect(s).toMatchObject({ disabled: true, traceExporters: [], prometheus: true, otlpMetrics: undefined });
  });

  it('warns about what it cannot do: grpc, unknown exporters', () => {
    const s = resolveTelemetrySettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_EXPORTER: 'otlp,zipkin',
    });
    expect(s.traceExporters).toEqual([]);
    expect(s.otlpMetrics).toBeUndefined();
    expect(s.warnings.join('\n')).toMatch(/grpc.*not supported/);
    expect(s.warnings.join('\n')).toMatch(/zipkin/);
  });
});
