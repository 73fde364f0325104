import {
  context,
  diag,
  metrics,
  propagation,
  trace,
  type DiagLogger,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  defaultResource,
  envDetector,
  hostDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import {
  AggregationType,
  createAllowListAttributesProcessor,
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { BERTH_METER } from './berth-metrics';
import { otelLogLevel } from './diag-level';
import { METRIC_CATALOG } from './metric-names';
import { OffThreadSpanProcessor } from './off-thread/off-thread-span-processor';
import { MainThreadSpanProcessor } from './otlp/main-thread-span-processor';
import { RedactingSpanProcessor } from './redaction';
import { resolveTelemetrySettings, type TelemetrySettings, type TraceExporterChoice } from './telemetry-settings';

export interface TelemetryOptions {
  /** `service.name`: the app's name (`registry-frontend`, ..., `berth` for the embedded host). OTEL_SERVICE_NAME overrides it. */
  serviceName: string;
  serviceVersion?: string;
  /** Span processors added after the configured exporters (an in-memory exporter in tests, a custom pipeline). */
  spanProcessors?: SpanProcessor[];
}

export interface TelemetryHandle {
  readonly serviceName: string;
  /** False when OTEL_SDK_DISABLED=true (or only metrics were set up, by `ensureMetrics`). */
  readonly tracing: boolean;
  /** Where spans go: `otlp http/json`, `otlp http/protobuf` (with ` (worker thread)` when exported from one), `console`; empty when they are not exported. */
  readonly traceExporters: readonly string[];
  /** Exports what is buffered (spans, pushed metrics). Bounded by `timeoutMs`; never rejects. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flushes and stops everything. Bounded by `timeoutMs`; never rejects. */
  shutdown(timeoutMs?: number): Promise<void>;
}

interface TelemetryState {
  handle: TelemetryHandle;
  /** Undone on shutdown (globals unregistered, modules unpatched), so a test can start again. */
  teardown(): void;
  prometheus?: PrometheusExporter;
  serializer: PrometheusSerializer;
  /** The tracer of the HTTP server spans, looked up once (not through the API's globals on every request). */
  serverTracer?: Tracer;
}

/** The instrumentation scope of the HTTP server spans Berth creates itself (not `@opentelemetry/instrumentation-http`). */
export const HTTP_SERVER_TRACER = 'berth.http';

/** Requests that are not worth a trace: probes and scrapes, every few seconds on every pod. */
export const UNTRACED_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

/** Resource attributes that become a label on every `/metrics` series (bounded: one value per process). */
const RESOURCE_LABELS = /^service\.name$/;

/** The telemetry of this process lives on the global object: one per process even if this module loads twice. */
const STATE = Symbol.for('berth.telemetry.state');
type GlobalWithState = typeof globalThis & { [STATE]?: TelemetryState };

function state(): TelemetryState | undefined {
  return (globalThis as GlobalWithState)[STATE];
}

/** The Prometheus content type of the text exposition format `/metrics` answers with. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Starts OpenTelemetry for this process, configured by the `OTEL_*` variables of `process.env` (the SDK and
 * the exporters read theirs from there too). Call it from the app's `instrument.ts`, the first import of
 * `main.ts`, before Nest, pg, ioredis or kafkajs are loaded: auto-instrumentation patches modules as they
 * are required. Idempotent: a second call returns the first handle.
 *
 * Traces: the HTTP server span (HttpServerSpan, started by the service's first request hook), HTTP client,
 * undici (fetch), Nest handlers, pg, ioredis and kafkajs, exported as the `OTEL_*` variables say (see telemetry-settings.ts). Metrics: Berth's metrics and the instrumentations'
 * (without the HTTP instrumentations' duplicates of `http.server.request.duration`, which the platform
 * records with the route), served at `/metrics` and pushed over OTLP when configured.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryHandle {
  const existing = state();
  if (existing) return existing.handle;
  const env = process.env;
  const settings = resolveTelemetrySettings(env);
  const log = installDiagLogger(options.serviceName, env);
  for (const w of settings.warnings) diag.warn(w);

  if (settings.disabled) {
    const handle = startMetricsOnly(options, settings);
    log('info', { msg: 'telemetry: OTEL_SDK_DISABLED=true: no tracing; /metrics only' });
    return handle;
  }

  const prometheus = settings.prometheus ? newPrometheusReader() : undefined;
  const readers: IMetricReader[] = [...(prometheus ? [prometheus] : []), ...otlpMetricReaders(settings)];
  const exporting = settings.traceExporters.map((choice) => ({ choice, processor: spanProcessor(choice) }));
  const exporters = exporting.map(({ choice, processor }) => describe(choice, processor));
  // Scrubbing first, so exporters only ever see redacted URLs. With no exporter, spans are still created:
  // trace ids then tie log lines and events together across services.
  const spanProcessors: SpanProcessor[] = [
    new RedactingSpanProcessor(),
    ...exporting.map(({ processor }) => processor),
    ...(options.spanProcessors ?? []),
  ];

  // Nothing would read a recorded span (no exporter, no processor of the caller's, no sampler chosen): spans are
  // created unsampled, so their ids still reach log lines and event headers, and nothing is filled in or kept.
  const record = settings.recordSpans || (options.spanProcessors?.length ?? 0) > 0;
  const autoInstrumentations = instrumentations(record);
  // With OTEL_LOG_LEVEL set, NodeSDK's constructor installs a console diag logger (plain-text lines, and a
  // warning about replacing ours): let it install onto nothing, then put the JSON one back.
  diag.disable();
  const sdk = new NodeSDK({
    resource: serviceResource(options),
    // Host and OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME; not the process detector (its command line
    // would be published on /metrics). OTEL_NODE_RESOURCE_DETECTORS, when set, decides instead.
    ...(env['OTEL_NODE_RESOURCE_DETECTORS'] ? {} : { resourceDetectors: [envDetector, hostDetector] }),
    spanProcessors,
    ...(record ? {} : { sampler: new AlwaysOffSampler() }),
    metricReaders: readers,
    views: berthViews(),
    logRecordProcessors: [],
    instrumentations: [autoInstrumentations],
  });
  // NodeSDK installs a console diag logger when OTEL_LOG_LEVEL is set; ours writes JSON lines instead.
  installDiagLogger(options.serviceName, env);
  sdk.start();

  const handle: TelemetryHandle = {
    serviceName: options.serviceName,
    tracing: true,
    traceExporters: exporters,
    flush: (timeoutMs = 5000) =>
      bounded(
        Promise.all(readers.filter((r) => r !== prometheus).map((r) => r.forceFlush()))
          .then(() => Promise.all(spanProcessors.map((p) => p.forceFlush())))
          .then(() => undefined),
        timeoutMs,
      ),
    shutdown: (timeoutMs = 5000) => bounded(sdk.shutdown(), timeoutMs),
  };
  const teardown = (): void => {
    for (const i of autoInstrumentations) i.disable();
    metrics.disable();
    trace.disable();
    propagation.disable();
    context.disable();
  };
  setState({
    handle,
    teardown,
    prometheus,
    serializer: newSerializer(),
    serverTracer: trace.getTracer(HTTP_SERVER_TRACER),
  });
  log('info', {
    msg: 'telemetry started',
    traces: exporters.length ? exporters : record ? 'not exported' : 'not recorded (no exporter): ids only',
    metrics: [
      ...(prometheus ? ['/metrics'] : []),
      ...(settings.otlpMetrics ? [`otlp ${settings.otlpMetrics.protocol}`] : []),
    ],
  });
  return handle;
}

/**
 * Makes `/metrics` work in a process that did not call `startTelemetry` (an in-process test, a tool):
 * a metrics-only provider with the Prometheus reader. Does nothing when telemetry already started.
 */
export function ensureMetrics(serviceName: string): TelemetryHandle {
  return (
    state()?.handle ??
    startMetricsOnly({ serviceName }, resolveTelemetrySettings({ ...process.env, OTEL_SDK_DISABLED: 'true' }))
  );
}

/** Whether spans are being recorded in this process (telemetry started, and not with OTEL_SDK_DISABLED=true). */
export function tracingActive(): boolean {
  return state()?.handle.tracing === true;
}

/** The tracer of HTTP server spans while tracing is active; undefined otherwise. */
export function httpServerTracer(): Tracer | undefined {
  return state()?.serverTracer;
}

/** Whether telemetry (or the metrics-only fallback) runs in this process. */
export function telemetryStarted(): boolean {
  return state() !== undefined;
}

/** Flushes buffered spans and metrics (e.g. before a graceful exit). Bounded; never rejects. */
export function flushTelemetry(timeoutMs = 5000): Promise<void> {
  return state()?.handle.flush(timeoutMs) ?? Promise.resolve();
}

/** Stops telemetry (tests; a process exiting). A later `startTelemetry` starts afresh. Bounded; never rejects. */
export async function shutdownTelemetry(timeoutMs = 5000): Promise<void> {
  const s = state();
  if (!s) return;
  setState(undefined);
  await s.handle.shutdown(timeoutMs);
  s.teardown();
}

/** The Prometheus text exposition of every metric of this process (empty when the Prometheus reader is off). */
export async function renderPrometheusMetrics(): Promise<string> {
  const s = state();
  if (!s?.prometheus) return '';
  const { resourceMetrics, errors } = await s.prometheus.collect();
  for (const e of errors) diag.error('metric collection error', e);
  // The host detector's attributes (host.id) are read asynchronously; target_info needs them settled.
  if (resourceMetrics.resource.asyncAttributesPending) await resourceMetrics.resource.waitForAsyncAttributes?.();
  return s.serializer.serialize(resourceMetrics);
}

function setState(s: TelemetryState | undefined): void {
  (globalThis as GlobalWithState)[STATE] = s;
}

function startMetricsOnly(options: TelemetryOptions, settings: TelemetrySettings): TelemetryHandle {
  const prometheus = settings.prometheus ? newPrometheusReader() : undefined;
  const provider = new MeterProvider({
    resource: serviceResource(options),
    readers: prometheus ? [prometheus] : [],
    views: berthViews(),
  });
  if (!metrics.setGlobalMeterProvider(provider))
    diag.warn('a meter provider was already registered: /metrics shows only metrics recorded through it');
  const handle: TelemetryHandle = {
    serviceName: options.serviceName,
    tracing: false,
    traceExporters: [],
    flush: () => Promise.resolve(),
    shutdown: (timeoutMs = 5000) => bounded(provider.shutdown(), timeoutMs),
  };
  setState({ handle, teardown: () => metrics.disable(), prometheus, serializer: newSerializer() });
  return handle;
}

function serviceResource(options: TelemetryOptions): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      'service.namespace': 'berth',
      'service.instance.id': randomUUID(),
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
  );
}

function newPrometheusReader(): PrometheusExporter {
  return new PrometheusExporter({ preventServerStart: true, withResourceConstantLabels: RESOURCE_LABELS });
}

function newSerializer(): PrometheusSerializer {
  return new PrometheusSerializer('', false, RESOURCE_LABELS);
}

function otlpMetricReaders(settings: TelemetrySettings): IMetricReader[] {
  const m = settings.otlpMetrics;
  if (!m) return [];
  const exporter = m.protocol === 'http/json' ? new OtlpJsonMetricExporter() : new OtlpProtoMetricExporter();
  return [
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: m.intervalMs,
      exportTimeoutMillis: Math.min(30000, m.intervalMs),
    }),
  ];
}

/**
 * The processor of one trace exporter. OTLP/protobuf (the default) is encoded span by span as spans end
 * (EncodingSpanProcessor) and sent from a worker thread (OffThreadSpanProcessor) when the process may use more than
 * one CPU, from this thread otherwise or if the worker cannot start (MainThreadSpanProcessor). OTLP/JSON: the
 * standard batch span processor and exporter.
 */
export function spanProcessor(choice: TraceExporterChoice, cpus: number = availableParallelism()): SpanProcessor {
  if (choice.kind === 'console') return new SimpleSpanProcessor(new ConsoleSpanExporter());
  if (choice.protocol === 'http/json') return new BatchSpanProcessor(new OtlpJsonTraceExporter());
  if (cpus > 1) {
    try {
      return new OffThreadSpanProcessor();
    } catch (err) {
      diag.warn('off-thread span export could not start: exporting on the main thread', err);
    }
  }
  return new MainThreadSpanProcessor();
}

function describe(choice: TraceExporterChoice, processor: SpanProcessor): string {
  if (choice.kind === 'console') return 'console';
  return `otlp ${choice.protocol}${processor instanceof OffThreadSpanProcessor ? ' (worker thread)' : ''}`;
}

/**
 * Views: each Berth metric keeps only its declared attributes (a stray high-cardinality attribute is
 * dropped, not exported), and the HTTP instrumentations' own duration histograms are dropped (the platform
 * records `http.server.request.duration` with the route; two scopes writing one name would also break
 * the Prometheus exposition).
 */
export function berthViews(): ViewOptions[] {
  return [
    ...Object.values(METRIC_CATALOG).map(
      (m): ViewOptions => ({
        meterName: BERTH_METER,
        instrumentName: m.name,
        attributesProcessors: [createAllowListAttributesProcessor([...m.attributes])],
      }),
    ),
    {
      meterName: '@opentelemetry/instrumentation-http',
      instrumentName: '*',
      aggregation: { type: AggregationType.DROP },
    },
    {
      meterName: '@opentelemetry/instrumentation-undici',
      instrumentName: '*',
      aggregation: { type: AggregationType.DROP },
    },
  ];
}

/**
 * The auto-instrumentations of a process that records spans (`recordSpans`), or of one that records none. The latter
 * keeps only those with an effect beyond spans: the HTTP and undici clients and kafkajs carry `traceparent` to whom
 * Berth calls, and pg records `db.client.*` metrics; Nest's and ioredis' would only make unrecorded spans on every
 * request (a share of each request's CPU that bought nothing).
 */
export function instrumentations(recordSpans: boolean): Instrumentation[] {
  // Built only when wanted: an instrumentation patches its module as soon as it is constructed.
  return [
    new HttpInstrumentation({
      // Outgoing requests only: the server span is Berth's own (HttpServerSpan, started by the first Fastify
      // hook), which costs a fraction of the instrumentation's incoming-request wrapping.
      disableIncomingRequestInstrumentation: true,
      // Background calls (storage health checks, ...) outside any request or event are not traced.
      requireParentforOutgoingSpans: true,
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
    ...(recordSpans ? [new NestInstrumentation()] : []),
    // No parameters on spans (they may hold secrets); no spans for pool pings outside a trace.
    // No pool-checkout spans either: every TypeORM query checks a client out, which doubled the pg spans of a
    // request for no insight (the query span already carries its duration).
    new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false, ignoreConnectSpans: true }),
    // The command name only: keys and values may hold tokens.
    ...(recordSpans
      ? [new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command })]
      : []),
    new KafkaJsInstrumentation(),
  ];
}

function bounded(p: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        diag.warn('telemetry flush/shutdown failed', err);
        resolve();
      },
    );
  });
}

type LineLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_RANK: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/**
 * OpenTelemetry's own messages (exporter failures, ...) as JSON lines shaped like the service's pino lines
 * (`level`, `time`, `service`, `msg`), at OTEL_LOG_LEVEL (default `warn`), silent when BERTH_LOG_LEVEL is.
 * A message repeating (a collector that is down fails every batch) is written at most once a minute.
 */
function installDiagLogger(
  service: string,
  env: NodeJS.ProcessEnv,
): (level: LineLevel, fields: Record<string, unknown>) => void {
  const berthLevel = LEVEL_RANK[(env['BERTH_LOG_LEVEL'] ?? 'info').toLowerCase()] ?? LEVEL_RANK['info'] ?? 30;
  const lastWritten = new Map<string, number>();
  const write = (level: LineLevel, fields: Record<string, unknown>): void => {
    if ((LEVEL_RANK[level] ?? 0) < berthLevel) return;
    process.stdout.write(
      `${JSON.stringify({ level, time: new Date().toISOString(), service, component: 'opentelemetry', ...fields })}\n`,
    );
  };
  const diagWrite =
    (level: LineLevel) =>
    (message: string, ...args: unknown[]): void => {
      const now = Date.now();
      const last = lastWritten.get(message);
      if (last !== undefined && now - last < 60000) return;
      if (lastWritten.size > 1000) lastWritten.clear();
      lastWritten.set(message, now);
      const err = args.find((a): a is Error => a instanceof Error);
      write(level, { msg: message, ...(err ? { err: { type: err.name, message: err.message } } : {}) });
    };
  const logger: DiagLogger = {
    error: diagWrite('error'),
    warn: diagWrite('warn'),
    info: diagWrite('info'),
    debug: diagWrite('debug'),
    verbose: diagWrite('debug'),
  };
  diag.setLogger(logger, {
    logLevel: otelLogLevel(env),
    suppressOverrideMessage: true,
  });
  return write;
}
