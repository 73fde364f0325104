import {
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { BerthMetricAttr as A, HttpMetricAttr as H } from './attributes';
import { BerthMetric, METRIC_CATALOG, type BerthMetricName, type MetricDefinition } from './metric-names';

/** The meter (instrumentation scope) of every Berth metric. */
export const BERTH_METER = 'berth';

export type Artifact = 'manifest' | 'blob';
export type Sku = 'Basic' | 'Standard' | 'Premium';
/** A registry operation's outcome: the client's fault (4xx) is not an availability failure; the server's (5xx) is. */
export type RegistryOutcome = 'success' | 'client_error' | 'server_error';
export type OperationClass = 'read' | 'write' | 'list';
export type QuotaKind = 'storage' | 'repositories' | 'webhooks' | 'replications' | 'scope_maps' | 'tokens' | 'other';
export type TokenKind = 'access' | 'refresh' | 'management';
export type GrantType =
  | 'password'
  | 'refresh_token'
  | 'access_token'
  | 'access_token_refresh_token'
  | 'client_credentials'
  | 'basic'
  | 'anonymous'
  | 'other';
export type TokenFailureReason =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'insufficient_scope'
  | 'expired'
  | 'disabled'
  | 'throttled'
  | 'unavailable'
  | 'other';
export type WebhookAction = 'push' | 'delete' | 'quarantine' | 'chart_push' | 'chart_delete' | 'ping';
export type WebhookOutcome = 'success' | 'http_error' | 'timeout' | 'network_error' | 'blocked' | 'gave_up';
export type PublishOutcome = 'success' | 'failure';
export type ConsumeOutcome = 'success' | 'failure' | 'duplicate';

/** The registry metrics' common attributes. `region` and `sku` are optional: omit them when unknown. */
export interface RegistryOpAttrs {
  artifact: Artifact;
  outcome: RegistryOutcome;
  region?: string;
  sku?: Sku;
}

export interface HttpServerRequest {
  method: string;
  /** The route pattern (`/v2/*`, `/healthz`), never the path; omit for requests no route matched. */
  route?: string;
  status: number;
  scheme: 'http' | 'https';
  seconds: number;
}

/** A consumer group's lag on one topic, as the consumer last measured it. */
export interface ConsumerLagSample {
  group: string;
  topic: string;
  lag: number;
}

/** The outbox as the relay last saw it. */
export interface OutboxSample {
  /** Age of the oldest unpublished event, in seconds (0 when none). */
  lagSeconds: number;
  pending: number;
}

/** Methods the semantic conventions name; anything else is recorded as `_OTHER` (bounded cardinality). */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/** An outcome of any HTTP status, as the registry metrics count it. */
export function outcomeOfStatus(status: number): RegistryOutcome {
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'success';
}

function attrs(entries: Record<string, string | number | undefined>): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Typed recording of every Berth metric, with only bounded attributes in the signatures (a repository name
 * or digest cannot be passed). Get it with `berthMetrics()` where you record: it follows the process's
 * meter provider, so a call made before telemetry started does not leave a no-op instrument behind.
 */
export class BerthMetrics {
  private readonly counters = new Map<BerthMetricName, Counter>();
  private readonly histograms = new Map<BerthMetricName, Histogram>();
  private readonly gauges = new Map<BerthMetricName, ObservableGauge>();

  constructor(private readonly meter: Meter) {}

  httpServerRequest(r: HttpServerRequest): void {
    const method = r.method.toUpperCase();
    this.histogram(BerthMetric.HttpServerRequestDuration).record(
      r.seconds,
      attrs({
        [H.Method]: KNOWN_METHODS.has(method) ? method : '_OTHER',
        [H.Route]: r.route,
        [H.StatusCode]: r.status,
        [H.UrlScheme]: r.scheme,
        [H.ErrorType]: r.status >= 500 ? String(r.status) : undefined,
      }),
    );
  }

  push(a: RegistryOpAttrs): void {
    this.counter(BerthMetric.RegistryPushes).add(1, registryAttrs(a));
  }

  pull(a: RegistryOpAttrs): void {
    this.counter(BerthMetric.RegistryPulls).add(1, registryAttrs(a));
  }

  bytesReceived(bytes: number, a: { artifact: Artifact; region?: string }): void {
    if (bytes > 0)
      this.counter(BerthMetric.RegistryReceivedBytes).add(
        bytes,
        attrs({ [A.Artifact]: a.artifact, [A.Region]: a.region }),
      );
  }

  bytesSent(bytes: number, a: { artifact: Artifact; region?: string; delivery: 'proxy' | 'redirect' }): void {
    if (bytes > 0) {
      this.counter(BerthMetric.RegistrySentBytes).add(
        bytes,
        attrs({ [A.Artifact]: a.artifact, [A.Region]: a.region, [A.Delivery]: a.delivery }),
      );
    }
  }

  uploadFinished(seconds: number, a: { outcome: RegistryOutcome; region?: string }): void {
    this.histogram(BerthMetric.RegistryUploadDuration).record(
      seconds,
      attrs({ [A.Outcome]: a.outcome, [A.Region]: a.region }),
    );
  }

  throttled(a: { operationClass: OperationClass; sku?: Sku }): void {
    this.counter(BerthMetric.RegistryThrottledRequests).add(
      1,
      attrs({ [A.OperationClass]: a.operationClass, [A.Sku]: a.sku }),
    );
  }

  quotaRefused(a: { quota: QuotaKind; sku?: Sku }): void {
    this.counter(BerthMetric.RegistryQuotaRefusals).add(1, attrs({ [A.Quota]: a.quota, [A.Sku]: a.sku }));
  }

  tokenIssued(a: { kind: TokenKind; grantType: GrantType }): void {
    this.counter(BerthMetric.TokensIssued).add(1, attrs({ [A.TokenKind]: a.kind, [A.GrantType]: a.grantType }));
  }

  tokenFailed(a: { grantType: GrantType; reason: TokenFailureReason }): void {
    this.counter(BerthMetric.TokenFailures).add(1, attrs({ [A.GrantType]: a.grantType, [A.Reason]: a.reason }));
  }

  webhookDelivery(seconds: number, a: { outcome: WebhookOutcome; action: WebhookAction }): void {
    this.counter(BerthMetric.WebhookDeliveries).add(1, attrs({ [A.Outcome]: a.outcome, [A.WebhookAction]: a.action }));
    this.histogram(BerthMetric.WebhookDeliveryDuration).record(seconds, attrs({ [A.Outcome]: a.outcome }));
  }

  eventPublished(a: { eventType: string; topic: string; outcome: PublishOutcome }, count = 1): void {
    this.counter(BerthMetric.EventsPublished).add(
      count,
      attrs({ [A.EventType]: a.eventType, [A.Topic]: a.topic, [A.Outcome]: a.outcome }),
    );
  }

  /** `occurredAt` (the envelope's) also records the end-to-end delay, for handled events. */
  eventConsumed(a: { group: string; topic: string; outcome: ConsumeOutcome; occurredAt?: Date | string }): void {
    this.counter(BerthMetric.EventsConsumed).add(
      1,
      attrs({ [A.ConsumerGroup]: a.group, [A.Topic]: a.topic, [A.Outcome]: a.outcome }),
    );
    if (a.occurredAt !== undefined && a.outcome === 'success') {
      const at = typeof a.occurredAt === 'string' ? Date.parse(a.occurredAt) : a.occurredAt.getTime();
      if (Number.isFinite(at)) {
        this.histogram(BerthMetric.EventsConsumeDelay).record(
          Math.max(0, (Date.now() - at) / 1000),
          attrs({ [A.ConsumerGroup]: a.group, [A.Topic]: a.topic }),
        );
      }
    }
  }

  /**
   * Reports the outbox on every collection (scrape or export) from `sample`, which must be cheap (return
   * the relay's last measurement, not query the database). Returns the function that stops sampling (the
   * exporter keeps showing the last value afterwards: report 0 before stopping when the relay stops for good).
   */
  observeOutbox(sample: () => OutboxSample | undefined): () => void {
    const lag = this.gauge(BerthMetric.OutboxLag);
    const pending = this.gauge(BerthMetric.OutboxPending);
    const onLag = (r: ObservableResult): void => {
      const s = sample();
      if (s) r.observe(Math.max(0, s.lagSeconds));
    };
    const onPending = (r: ObservableResult): void => {
      const s = sample();
      if (s) r.observe(Math.max(0, s.pending));
    };
    lag.addCallback(onLag);
    pending.addCallback(onPending);
    return () => {
      lag.removeCallback(onLag);
      pending.removeCallback(onPending);
    };
  }

  /** Reports consumer lag on every collection from `sample` (cheap: the last measurement). Returns the stop function. */
  observeConsumerLag(sample: () => readonly ConsumerLagSample[]): () => void {
    const gauge = this.gauge(BerthMetric.ConsumerLag);
    const cb = (r: ObservableResult): void => {
      for (const s of sample()) r.observe(Math.max(0, s.lag), { [A.ConsumerGroup]: s.group, [A.Topic]: s.topic });
    };
    gauge.addCallback(cb);
    return () => gauge.removeCallback(cb);
  }

  private counter(name: BerthMetricName): Counter {
    let c = this.counters.get(name);
    if (!c) {
      const d = METRIC_CATALOG[name];
      c = this.meter.createCounter(name, { description: d.description, unit: d.unit, valueType: valueType(d) });
      this.counters.set(name, c);
    }
    return c;
  }

  private histogram(name: BerthMetricName): Histogram {
    let h = this.histograms.get(name);
    if (!h) {
      const d = METRIC_CATALOG[name];
      h = this.meter.createHistogram(name, {
        description: d.description,
        unit: d.unit,
        valueType: ValueType.DOUBLE,
        advice: d.buckets ? { explicitBucketBoundaries: [...d.buckets] } : undefined,
      });
      this.histograms.set(name, h);
    }
    return h;
  }

  private gauge(name: BerthMetricName): ObservableGauge {
    let g = this.gauges.get(name);
    if (!g) {
      const d = METRIC_CATALOG[name];
      g = this.meter.createObservableGauge(name, { description: d.description, unit: d.unit, valueType: valueType(d) });
      this.gauges.set(name, g);
    }
    return g;
  }
}

function valueType(d: MetricDefinition): ValueType {
  return d.unit === 's' ? ValueType.DOUBLE : ValueType.INT;
}

function registryAttrs(a: RegistryOpAttrs): Attributes {
  return attrs({ [A.Artifact]: a.artifact, [A.Outcome]: a.outcome, [A.Region]: a.region, [A.Sku]: a.sku });
}

const byProvider = new WeakMap<MeterProvider, BerthMetrics>();

/** The recorder bound to the process's current meter provider (a no-op one until telemetry has started). */
export function berthMetrics(provider: MeterProvider = metrics.getMeterProvider()): BerthMetrics {
  let m = byProvider.get(provider);
  if (!m) {
    m = new BerthMetrics(provider.getMeter(BERTH_METER));
    byProvider.set(provider, m);
  }
  return m;
}
