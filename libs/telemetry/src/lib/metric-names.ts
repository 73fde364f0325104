import { BerthMetricAttr as A, HttpMetricAttr as H } from './attributes';

/**
 * Every metric Berth itself defines: one name each, shared by the code that records it, the dashboards and
 * the alert rules (a test checks that each name those query is here). Names follow OpenTelemetry's rules
 * (dotted, no unit in the name: the unit travels with the metric); `prometheusSeries` gives the names the
 * `/metrics` endpoint shows.
 */
export const BerthMetric = {
  /** Semantic conventions: duration of HTTP server requests, by method, route (the pattern, never the path) and status. */
  HttpServerRequestDuration: 'http.server.request.duration',
  /** Pushes completed: a manifest PUT or a blob upload committed (or refused). */
  RegistryPushes: 'berth.registry.pushes',
  /** Pulls answered: a manifest or blob GET (or refused). The pull-availability SLO counts these. */
  RegistryPulls: 'berth.registry.pulls',
  /** Bytes received from clients (blob and manifest bodies). */
  RegistryReceivedBytes: 'berth.registry.received_bytes',
  /** Bytes sent to clients, through Berth (`proxy`) or by a presigned storage URL (`redirect`: the blob size). */
  RegistrySentBytes: 'berth.registry.sent_bytes',
  /** From opening an upload session to its commit (or failure). */
  RegistryUploadDuration: 'berth.registry.upload.duration',
  /** Requests refused with 429 by the SKU's operation limits. */
  RegistryThrottledRequests: 'berth.registry.throttled_requests',
  /** Requests refused because a quota (storage, webhooks, ...) was reached. */
  RegistryQuotaRefusals: 'berth.registry.quota_refusals',
  /** Tokens issued (registry access and refresh tokens, management tokens). */
  TokensIssued: 'berth.token.issued',
  /** Token requests refused (bad credentials, insufficient scope, throttled, ...). */
  TokenFailures: 'berth.token.failures',
  /** Webhook delivery attempts, by outcome. */
  WebhookDeliveries: 'berth.webhook.deliveries',
  /** Duration of one webhook delivery attempt. */
  WebhookDeliveryDuration: 'berth.webhook.delivery.duration',
  /** Events the outbox relay published to the bus. */
  EventsPublished: 'berth.events.published',
  /** Events a consumer handled (or failed, or skipped as a duplicate). */
  EventsConsumed: 'berth.events.consumed',
  /** From an event's occurrence to a consumer's handling of it (end-to-end event latency). */
  EventsConsumeDelay: 'berth.events.consume.delay',
  /** Age of the oldest event still waiting in the outbox (0 when it is empty). */
  OutboxLag: 'berth.outbox.lag',
  /** Events waiting in the outbox. */
  OutboxPending: 'berth.outbox.pending',
  /** Messages a consumer group has yet to read, per topic. */
  ConsumerLag: 'berth.events.consumer.lag',
} as const;

export type BerthMetricName = (typeof BerthMetric)[keyof typeof BerthMetric];

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';

export interface MetricDefinition {
  readonly name: BerthMetricName;
  readonly kind: InstrumentKind;
  /** UCUM unit: `s`, `By`, or an annotation such as `{request}`. */
  readonly unit: string;
  readonly description: string;
  /** The only attributes the metric may carry (enforced by a view: anything else is dropped). */
  readonly attributes: readonly string[];
  /** Histogram bucket boundaries, in the metric's unit. */
  readonly buckets?: readonly number[];
}

/** The semantic conventions' advice for HTTP durations, in seconds. */
export const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;
/** Uploads run from milliseconds (a small layer) to many minutes (a large one over a slow link). */
export const UPLOAD_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800] as const;
/** Webhook attempts are bounded by the delivery timeout. */
export const WEBHOOK_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
/** Event latency: milliseconds when healthy, minutes when a consumer is behind. */
export const EVENT_DELAY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

const def = (d: MetricDefinition): MetricDefinition => d;

/** The catalog: kind, unit and allowed attributes of every Berth metric. */
export const METRIC_CATALOG: Readonly<Record<BerthMetricName, MetricDefinition>> = {
  [BerthMetric.HttpServerRequestDuration]: def({
    name: BerthMetric.HttpServerRequestDuration,
    kind: 'histogram',
    unit: 's',
    description: 'Duration of HTTP server requests.',
    attributes: [H.Method, H.Route, H.StatusCode, H.UrlScheme, H.ErrorType],
    buckets: HTTP_DURATION_BUCKETS,
  }),
  [BerthMetric.RegistryPushes]: def({
    name: BerthMetric.RegistryPushes,
    kind: 'counter',
    unit: '{push}',
    description: 'Manifest pushes and blob uploads completed or refused.',
    attributes: [A.Artifact, A.Outcome, A.Region, A.Sku],
  }),
  [BerthMetric.RegistryPulls]: def({
    name: BerthMetric.RegistryPulls,
    kind: 'counter',
    unit: '{pull}',
    description: 'Manifest and blob pulls answered or refused.',
    attributes: [A.Artifact, A.Outcome, A.Region, A.Sku],
  }),
  [BerthMetric.RegistryReceivedBytes]: def({
    name: BerthMetric.RegistryReceivedBytes,
    kind: 'counter',
    unit: 'By',
    description: 'Bytes of blob and manifest bodies received from clients.',
    attributes: [A.Artifact, A.Region],
  }),
  [BerthMetric.RegistrySentBytes]: def({
    name: BerthMetric.RegistrySentBytes,
    kind: 'counter',
    unit: 'By',
    description: 'Bytes of blobs and manifests sent to clients, proxied or by redirect to storage.',
    attributes: [A.Artifact, A.Region, A.Delivery],
  }),
  [BerthMetric.RegistryUploadDuration]: def({
    name: BerthMetric.RegistryUploadDuration,
    kind: 'histogram',
    unit: 's',
    description: 'Duration of blob uploads, from opening the session to its commit.',
    attributes: [A.Outcome, A.Region],
    buckets: UPLOAD_DURATION_BUCKETS,
  }),
  [BerthMetric.RegistryThrottledRequests]: def({
    name: BerthMetric.RegistryThrottledRequests,
    kind: 'counter',
    unit: '{request}',
    description: "Requests refused with 429 by the SKU's operation limits.",
    attributes: [A.Sku, A.OperationClass],
  }),
  [BerthMetric.RegistryQuotaRefusals]: def({
    name: BerthMetric.RegistryQuotaRefusals,
    kind: 'counter',
    unit: '{request}',
    description: 'Requests refused because a quota was reached.',
    attributes: [A.Sku, A.Quota],
  }),
  [BerthMetric.TokensIssued]: def({
    name: BerthMetric.TokensIssued,
    kind: 'counter',
    unit: '{token}',
    description: 'Tokens issued.',
    attributes: [A.TokenKind, A.GrantType],
  }),
  [BerthMetric.TokenFailures]: def({
    name: BerthMetric.TokenFailures,
    kind: 'counter',
    unit: '{request}',
    description: 'Token requests refused.',
    attributes: [A.GrantType, A.Reason],
  }),
  [BerthMetric.WebhookDeliveries]: def({
    name: BerthMetric.WebhookDeliveries,
    kind: 'counter',
    unit: '{delivery}',
    description: 'Webhook delivery attempts, by outcome.',
    attributes: [A.Outcome, A.WebhookAction],
  }),
  [BerthMetric.WebhookDeliveryDuration]: def({
    name: BerthMetric.WebhookDeliveryDuration,
    kind: 'histogram',
    unit: 's',
    description: 'Duration of one webhook delivery attempt.',
    attributes: [A.Outcome],
    buckets: WEBHOOK_DURATION_BUCKETS,
  }),
  [BerthMetric.EventsPublished]: def({
    name: BerthMetric.EventsPublished,
    kind: 'counter',
    unit: '{event}',
    description: 'Events the outbox relay published to the bus.',
    attributes: [A.EventType, A.Topic, A.Outcome],
  }),
  [BerthMetric.EventsConsumed]: def({
    name: BerthMetric.EventsConsumed,
    kind: 'counter',
    unit: '{event}',
    description: 'Events handled by a consumer group.',
    attributes: [A.ConsumerGroup, A.Topic, A.Outcome],
  }),
  [BerthMetric.EventsConsumeDelay]: def({
    name: BerthMetric.EventsConsumeDelay,
    kind: 'histogram',
    unit: 's',
    description: "From an event's occurrence to its handling by a consumer group.",
    attributes: [A.ConsumerGroup, A.Topic],
    buckets: EVENT_DELAY_BUCKETS,
  }),
  [BerthMetric.OutboxLag]: def({
    name: BerthMetric.OutboxLag,
    kind: 'gauge',
    unit: 's',
    description: 'Age of the oldest event waiting in the outbox (0 when empty).',
    attributes: [],
  }),
  [BerthMetric.OutboxPending]: def({
    name: BerthMetric.OutboxPending,
    kind: 'gauge',
    unit: '{event}',
    description: 'Events waiting in the outbox.',
    attributes: [],
  }),
  [BerthMetric.ConsumerLag]: def({
    name: BerthMetric.ConsumerLag,
    kind: 'gauge',
    unit: '{message}',
    description: 'Messages a consumer group has yet to read, per topic.',
    attributes: [A.ConsumerGroup, A.Topic],
  }),
};

/** The Prometheus label an attribute becomes (`berth.outcome` -> `berth_outcome`). */
export function prometheusLabel(attribute: string): string {
  return attribute.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');
}

/** The metric family name on `/metrics` (what the OpenTelemetry Prometheus exporter writes). */
export function prometheusName(metric: MetricDefinition): string {
  const base = prometheusLabel(metric.name);
  return metric.kind === 'counter' && !base.endsWith('_total') ? `${base}_total` : base;
}

/** Every series name a metric appears under on `/metrics` (histograms: `_bucket`, `_sum`, `_count`). */
export function prometheusSeries(metric: MetricDefinition): string[] {
  const name = prometheusName(metric);
  return metric.kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

/** Every series name of every Berth metric. */
export function allPrometheusSeries(): string[] {
  return Object.values(METRIC_CATALOG).flatMap(prometheusSeries);
}

/**
 * Labels every Berth series carries besides its own attributes: `service_name` (the process's
 * `service.name`, added by the exporter), the exporter's scope labels, and the histogram bucket bound.
 */
export const COMMON_PROMETHEUS_LABELS = ['service_name', 'otel_scope_name', 'otel_scope_version', 'le'] as const;
