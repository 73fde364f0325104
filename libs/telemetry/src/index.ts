export {
  startTelemetry,
  ensureMetrics,
  telemetryStarted,
  tracingActive,
  flushTelemetry,
  shutdownTelemetry,
  renderPrometheusMetrics,
  berthViews,
  PROMETHEUS_CONTENT_TYPE,
  UNTRACED_PATHS,
} from './lib/telemetry';
export type { TelemetryHandle, TelemetryOptions } from './lib/telemetry';
export { resolveTelemetrySettings } from './lib/telemetry-settings';
export type { OtlpProtocol, TelemetrySettings, TraceExporterChoice } from './lib/telemetry-settings';
export { BerthMetricAttr, BerthSpanAttr, HttpMetricAttr } from './lib/attributes';
export type { BerthMetricAttrName, BerthSpanAttrName, HttpMetricAttrName } from './lib/attributes';
export {
  BerthMetric,
  METRIC_CATALOG,
  COMMON_PROMETHEUS_LABELS,
  HTTP_DURATION_BUCKETS,
  allPrometheusSeries,
  prometheusLabel,
  prometheusName,
  prometheusSeries,
} from './lib/metric-names';
export type { BerthMetricName, InstrumentKind, MetricDefinition } from './lib/metric-names';
export { BERTH_METER, BerthMetrics, berthMetrics, outcomeOfStatus } from './lib/berth-metrics';
export type {
  Artifact,
  ConsumeOutcome,
  ConsumerLagSample,
  GrantType,
  HttpServerRequest,
  OperationClass,
  OutboxSample,
  PublishOutcome,
  QuotaKind,
  RegistryOpAttrs,
  RegistryOutcome,
  Sku,
  TokenFailureReason,
  TokenKind,
  WebhookAction,
  WebhookOutcome,
} from './lib/berth-metrics';
export {
  BERTH_TRACER,
  annotateActiveSpan,
  contextFromTraceparent,
  currentTraceparent,
  extractTraceContext,
  injectTraceHeaders,
  withConsumerSpan,
  withProducerSpan,
  withProducerSpans,
  withSpan,
  untracedBookkeeping,
} from './lib/propagation';
export type { BusSystem, ConsumedMessage, MessageHeaders, ProducedMessage } from './lib/propagation';
export { traceLogFields } from './lib/log-fields';
export type { TraceLogFields } from './lib/log-fields';
export { HttpServerSpan, HTTP_SERVER_TRACER } from './lib/http-server-span';
// For tests and local debugging: a minimal OTLP/HTTP receiver.
export { startOtlpReceiver } from './lib/testing/otlp-receiver';
export type { OtlpReceiver, ReceivedRequest, ReceivedSpan } from './lib/testing/otlp-receiver';
export { useTestTracing } from './lib/testing/test-tracing';
