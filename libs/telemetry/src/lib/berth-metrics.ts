import {
  metrics,
  ValueType,
  type Attributes,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableCounter,
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

/**
 * Series of one metric kept in plain JS, each under a cheap key (its attribute values joined): recording finds
 * the series with one string and one Map lookup, where the SDK would copy the attributes through the view's
 * allow-list and hash them (sorted keys, JSON) on every call, several microseconds per request.
 */
const MAX_SERIES = 2000;
const SEP = '\u0001';

function keyOf(values: ReadonlyArray<string | number | undefined>): string {
  let key = '';
  for (const v of values) key += v === undefined ? `\u0002${SEP}` : `${v}${SEP}`;
  return key;
}

function attrsOf(names: readonly string[], values: ReadonlyArray<string | number | undefined>): Attributes {
  const out: Attributes = {};
  names.forEach((n, i) => {
    const v = values[i];
    if (v !== undefined) out[n] = v;
  });
  return Object.freeze(out);
}

/** A counter summed in plain JS and reported by an observable counter on each collection (same name, unit and series). */
class PlainCounter {
  private readonly series = new Map<string, { readonly attributes: Attributes; value: number }>();
  /** Bounded attributes never get here; past MAX_SERIES the rest is counted under the SDK's overflow attribute. */
  private readonly overflow = { attributes: Object.freeze({ 'otel.metric.overflow': true }), value: 0 };

  constructor(
    instrument: ObservableCounter,
    private readonly names: readonly string[],
  ) {
    instrument.addCallback((r) => {
      for (const s of this.series.values()) r.observe(s.value, s.attributes);
      if (this.overflow.value > 0) r.observe(this.overflow.value, this.overflow.attributes);
    });
  }

  add(value: number, values: ReadonlyArray<string | number | undefined>): void {
    if (!(value >= 0)) return; // a counter only grows (the SDK's Counter.add drops negative values too)
    const key = keyOf(values);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) s = this.overflow;
      else {
        s = { attributes: attrsOf(this.names, values), value: 0 };
        this.series.set(key, s);
      }
    }
    s.value += value;
  }
}

/** A histogram recorded through the SDK with one frozen attribute object per series (built once, not per call). */
class CachedHistogram {
  private readonly cache = new Map<string, Attributes>();

  constructor(
    private readonly instrument: Histogram,
    private readonly names: readonly string[],
  ) {}

  record(value: number, values: ReadonlyArray<string | number | undefined>): void {
    const key = keyOf(values);
    let attributes = this.cache.get(key);
    if (!attributes) {
      attributes = attrsOf(this.names, values);
      if (this.cache.size < MAX_SERIES) this.cache.set(key, attributes);
    }
    this.instrument.record(value, attributes);
  }
}

/**
 * Typed recording of every Berth metric, with only bounded attributes in the signatures (a repository name
 * or digest cannot be passed). Get it with `berthMetrics()` where you record: it follows the process's
 * meter provider, so a call made before telemetry started does not leave a no-op instrument behind.
 */
export class BerthMetrics {
  private readonly counters = new Map<BerthMetricName, PlainCounter>();
  private readonly histograms = new Map<BerthMetricName, CachedHistogram>();
  private readonly gauges = new Map<BerthMetricName, ObservableGauge>();

  constructor(private readonly meter: Meter) {}

  httpServerRequest(r: HttpServerRequest): void {
    const method = KNOWN_METHODS.has(r.method) ? r.method : r.method.toUpperCase();
    this.histogram(BerthMetric.HttpServerRequestDuration, HTTP_ATTRS).record(r.seconds, [
      KNOWN_METHODS.has(method) ? method : '_OTHER',
      r.route,
      r.status,
      r.scheme,
      r.status >= 500 ? String(r.status) : undefined,
    ]);
  }

  push(a: RegistryOpAttrs): void {
    this.counter(BerthMetric.RegistryPushes, REGISTRY_ATTRS).add(1, [a.artifact, a.outcome, a.region, a.sku]);
  }

  pull(a: RegistryOpAttrs): void {
    this.counter(BerthMetric.RegistryPulls, REGISTRY_ATTRS).add(1, [a.artifact, a.outcome, a.region, a.sku]);
  }

  bytesReceived(bytes: number, a: { artifact: Artifact; region?: string }): void {
    if (bytes > 0)
      this.counter(BerthMetric.RegistryReceivedBytes, [A.Artifact, A.Region]).add(bytes, [a.artifact, a.region]);
  }

  bytesSent(bytes: number, a: { artifact: Artifact; region?: string; delivery: 'proxy' | 'redirect' }): void {
    if (bytes > 0) {
      this.counter(BerthMetric.RegistrySentBytes, [A.Artifact, A.Region, A.Delivery]).add(bytes, [
        a.artifact,
        a.region,
        a.delivery,
      ]);
    }
  }

  uploadFinished(seconds: number, a: { outcome: RegistryOutcome; region?: string }): void {
    this.histogram(BerthMetric.RegistryUploadDuration, [A.Outcome, A.Region]).record(seconds, [a.outcome, a.region]);
  }

  throttled(a: { operationClass: OperationClass; sku?: Sku }): void {
    this.counter(BerthMetric.RegistryThrottledRequests, [A.OperationClass, A.Sku]).add(1, [a.operationClass, a.sku]);
  }

  quotaRefused(a: { quota: QuotaKind; sku?: Sku }): void {
    this.counter(BerthMetric.RegistryQuotaRefusals, [A.Quota, A.Sku]).add(1, [a.quota, a.sku]);
  }

  tokenIssued(a: { kind: TokenKind; grantType: GrantType }): void {
    this.counter(BerthMetric.TokensIssued, [A.TokenKind, A.GrantType]).add(1, [a.kind, a.grantType]);
  }

  tokenFailed(a: { grantType: GrantType; reason: TokenFailureReason }): void {
    this.counter(BerthMetric.TokenFailures, [A.GrantType, A.Reason]).add(1, [a.grantType, a.reason]);
  }

  webhookDelivery(seconds: number, a: { outcome: WebhookOutcome; action: WebhookAction }): void {
    this.counter(BerthMetric.WebhookDeliveries, [A.Outcome, A.WebhookAction]).add(1, [a.outcome, a.action]);
    this.histogram(BerthMetric.WebhookDeliveryDuration, [A.Outcome]).record(seconds, [a.outcome]);
  }

  eventPublished(a: { eventType: string; topic: string; outcome: PublishOutcome }, count = 1): void {
    this.counter(BerthMetric.EventsPublished, [A.EventType, A.Topic, A.Outcome]).add(count, [
      a.eventType,
      a.topic,
      a.outcome,
    ]);
  }

  /** `occurredAt` (the envelope's) also records the end-to-end delay, for handled events. */
  eventConsumed(a: { group: string; topic: string; outcome: ConsumeOutcome; occurredAt?: Date | string }): void {
    this.counter(BerthMetric.EventsConsumed, [A.ConsumerGroup, A.Topic, A.Outcome]).add(1, [
      a.group,
      a.topic,
      a.outcome,
    ]);
    if (a.occurredAt !== undefined && a.outcome === 'success') {
      const at = typeof a.occurredAt === 'string' ? Date.parse(a.occurredAt) : a.occurredAt.getTime();
      if (Number.isFinite(at)) {
        this.histogram(BerthMetric.EventsConsumeDelay, [A.ConsumerGroup, A.Topic]).record(
          Math.max(0, (Date.now() - at) / 1000),
          [a.group, a.topic],
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

  /** `names`: the attribute names, in the order each call passes the values. */
  private counter(name: BerthMetricName, names: readonly string[]): PlainCounter {
    let c = this.counters.get(name);
    if (!c) {
      const d = METRIC_CATALOG[name];
      const instrument = this.meter.createObservableCounter(name, {
        description: d.description,
        unit: d.unit,
        valueType: valueType(d),
      });
      c = new PlainCounter(instrument, names);
      this.counters.set(name, c);
    }
    return c;
  }

  private histogram(name: BerthMetricName, names: readonly string[]): CachedHistogram {
    let h = this.histograms.get(name);
    if (!h) {
      const d = METRIC_CATALOG[name];
      const instrument = this.meter.createHistogram(name, {
        description: d.description,
        unit: d.unit,
        valueType: ValueType.DOUBLE,
        advice: d.buckets ? { explicitBucketBoundaries: [...d.buckets] } : undefined,
      });
      h = new CachedHistogram(instrument, names);
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

const HTTP_ATTRS = [H.Method, H.Route, H.StatusCode, H.UrlScheme, H.ErrorType] as const;
const REGISTRY_ATTRS = [A.Artifact, A.Outcome, A.Region, A.Sku] as const;

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
