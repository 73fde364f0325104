/**
 * Berth's own span and metric attribute names. Every custom attribute carries the `berth.` prefix (as
 * distribution's carry `io.cncf.distribution.`); standard ones (`http.*`, `db.*`, `messaging.*`) keep their
 * semantic-convention names.
 *
 * Two kinds, kept apart on purpose:
 * - METRIC attributes have a small, fixed set of values (an outcome, a SKU, a region from configuration).
 *   Only these may label a metric: each distinct value set is a time series kept forever by Prometheus.
 * - SPAN-ONLY attributes identify one thing (a registry, a repository, a digest, an event). They belong on
 *   spans, where every request is its own record, and never on metrics.
 */
export const BerthMetricAttr = {
  /** `manifest` | `blob`. */
  Artifact: 'berth.artifact',
  /** How an operation ended, from a small fixed list per metric (see `Outcome` types in berth-metrics). */
  Outcome: 'berth.outcome',
  /** A region name from BERTH_REGIONS (bounded by configuration). */
  Region: 'berth.region',
  /** `Basic` | `Standard` | `Premium`. */
  Sku: 'berth.sku',
  /** How a blob went out: `proxy` (bytes through Berth) | `redirect` (presigned storage URL). */
  Delivery: 'berth.delivery',
  /** The throttled operation class, as ACR's per-SKU limits count them: `read` | `write` | `list`. */
  OperationClass: 'berth.operation_class',
  /** Which quota refused a request: `storage` | `repositories` | `webhooks` | `replications` | `scope_maps` | `tokens` | `other`. */
  Quota: 'berth.quota',
  /** `access` | `refresh` | `management`. */
  TokenKind: 'berth.token_kind',
  /** The OAuth2 grant or login flow: `password`, `refresh_token`, `access_token`, `client_credentials`, `basic`, `anonymous`, ... */
  GrantType: 'berth.grant_type',
  /** Why something failed, from a small fixed list. */
  Reason: 'berth.reason',
  /** The ACR webhook action: `push` | `delete` | `quarantine` | `chart_push` | `chart_delete` | `ping`. */
  WebhookAction: 'berth.webhook_action',
  /** An event contract type, e.g. `push`, `delete`. */
  EventType: 'berth.event_type',
  /** A Kafka (or in-process) topic: a handful exist. */
  Topic: 'berth.topic',
  /** A consumer group: one per consuming service. */
  ConsumerGroup: 'berth.consumer_group',
} as const;

/** Attributes for spans only: unbounded values (ids, names, digests) that must never label a metric. */
export const BerthSpanAttr = {
  RegistryId: 'berth.registry_id',
  Registry: 'berth.registry',
  Repository: 'berth.repository',
  Digest: 'berth.digest',
  Reference: 'berth.reference',
  Tag: 'berth.tag',
  UploadId: 'berth.upload_id',
  EventId: 'berth.event_id',
  TenantId: 'berth.tenant_id',
  SubscriptionId: 'berth.subscription_id',
  PrincipalId: 'berth.principal_id',
  WebhookId: 'berth.webhook_id',
  RequestId: 'berth.request_id',
  /**
   * True on a server span whose request was counted in the request-rate buckets: the counter call (one Redis
   * script) is Berth's own bookkeeping and gets no span of its own (see `untracedBookkeeping`).
   */
  RateCounted: 'berth.rate_counted',
} as const;

/** The standard (semantic-convention) attributes Berth's HTTP server metric carries. */
export const HttpMetricAttr = {
  Method: 'http.request.method',
  Route: 'http.route',
  StatusCode: 'http.response.status_code',
  UrlScheme: 'url.scheme',
  ErrorType: 'error.type',
} as const;

export type BerthMetricAttrName = (typeof BerthMetricAttr)[keyof typeof BerthMetricAttr];
export type BerthSpanAttrName = (typeof BerthSpanAttr)[keyof typeof BerthSpanAttr];
export type HttpMetricAttrName = (typeof HttpMetricAttr)[keyof typeof HttpMetricAttr];
