import { diag, TraceFlags, type Context } from '@opentelemetry/api';
import { getNumberFromEnv } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OtlpSpanEncoder } from './otlp-span-encoder';

/** Dropped spans are reported on the diag logger at most this often. */
const DROP_REPORT_MS = 1_000;

/**
 * The span processor of OTLP/protobuf trace export: each ended, sampled span is encoded into the OTLP request being
 * built as it ends (OtlpSpanEncoder: the OpenTelemetry serializer's bytes at about a third of its cost), and a
 * request goes out, as the batch span processor's would, once it holds `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans (512)
 * or `OTEL_BSP_SCHEDULE_DELAY` ms (5,000) after its first span. How it goes out is the subclass's: from a worker
 * thread (OffThreadSpanProcessor) or from this one (MainThreadSpanProcessor).
 *
 * Bounded like the batch processor: spans of requests not yet answered, plus those of the request being built, never
 * exceed `OTEL_BSP_MAX_QUEUE_SIZE` (2048); beyond that spans are dropped and counted, and the count is reported on
 * the diag logger as the batch processor words it. Nothing here throws into `span.end()`. `forceFlush` and
 * `shutdown` send what is buffered and wait for the answers, so a graceful stop still exports every span.
 */
export abstract class EncodingSpanProcessor implements SpanProcessor {
  private readonly encoder = new OtlpSpanEncoder();
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Spans of requests sent and not yet answered. */
  private inFlight = 0;
  private dropped = 0;
  private dropReport: NodeJS.Timeout | undefined;
  /** Set while a span's resource settles its asynchronous attributes (nothing is sent meanwhile). */
  private settling: Promise<void> | undefined;
  /** A request was due while settling: it goes once settled. */
  private sendWhenSettled = false;
  private shutdownOnce: Promise<void> | undefined;

  constructor(
    /** How diag messages name this exporter. */
    protected readonly label: string,
  ) {
    this.maxQueue = getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048;
    this.maxBatch = Math.max(1, Math.min(getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512, this.maxQueue));
    this.delayMs = getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY') ?? 5000;
  }

  /**
   * Sends a finished request; calls {@link answered} with its span count once its export finished, sent or given up.
   * Returns false, or throws, when it cannot be sent at all (its spans are then dropped).
   */
  protected abstract send(bytes: Uint8Array, spans: number): boolean;

  /** Waits for the requests sent so far to be answered, then flushes or shuts down the transport. Never rejects. */
  protected abstract settle(type: 'flush' | 'shutdown'): Promise<void>;

  /** Whether the processor is shut down (or shutting down). */
  protected get isShutdown(): boolean {
    return this.shutdownOnce !== undefined;
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Nothing to do before a span ends.
  }

  onEnd(span: ReadableSpan): void {
    if (this.shutdownOnce || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.inFlight + this.encoder.count >= this.maxQueue) {
      this.drop(1);
      return;
    }
    try {
      this.encoder.add(span);
    } catch (err) {
      diag.error(`${this.label}: a span could not be encoded`, err);
      this.drop(1);
      return;
    }
    if (span.resource.asyncAttributesPending && !this.settling) {
      this.settling = (span.resource.waitForAsyncAttributes?.() ?? Promise.resolve()).then(
        () => this.settled(),
        () => this.settled(),
      );
    }
    if (this.encoder.count >= this.maxBatch) this.sendRequest();
    else this.timer ??= setTimeout(() => this.sendRequest(), this.delayMs).unref();
  }

  forceFlush(): Promise<void> {
    return this.shutdownOnce ?? this.flushThen('flush');
  }

  shutdown(): Promise<void> {
    this.shutdownOnce ??= (async () => {
      await this.flushThen('shutdown');
      if (this.dropReport) clearTimeout(this.dropReport);
      this.reportDrops();
    })();
    return this.shutdownOnce;
  }

  /** A request sent earlier was answered (exported or given up). */
  protected answered(spans: number): void {
    this.inFlight = Math.max(0, this.inFlight - spans);
  }

  /** Requests sent and never to be answered (a transport that went away): their spans count as dropped. */
  protected lost(): void {
    this.drop(this.inFlight);
    this.inFlight = 0;
  }

  protected drop(count: number): void {
    if (count <= 0) return;
    this.dropped += count;
    this.dropReport ??= setTimeout(() => this.reportDrops(), DROP_REPORT_MS).unref();
  }

  private async flushThen(type: 'flush' | 'shutdown'): Promise<void> {
    if (this.settling) await this.settling;
    this.sendRequest();
    await this.settle(type);
  }

  private settled(): void {
    this.settling = undefined;
    if (this.sendWhenSettled) this.sendRequest();
  }

  /** Sends the request being built, if it holds any span. */
  private sendRequest(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sendWhenSettled = this.settling !== undefined;
    if (this.settling) return;
    const spans = this.encoder.count;
    const bytes = this.encoder.finish();
    if (!bytes) return;
    // Counted before it goes: an answer may come before send() returns.
    this.inFlight += spans;
    let sent = false;
    try {
      sent = this.send(bytes, spans);
    } catch (err) {
      diag.error(`${this.label}: a request could not be sent`, err);
    }
    if (!sent) {
      this.answered(spans);
      this.drop(spans);
    }
  }

  private reportDrops(): void {
    this.dropReport = undefined;
    if (this.dropped === 0) return;
    // The batch span processor's words: dashboards and the bench look for them.
    diag.warn(`Dropped ${this.dropped} spans because maxQueueSize reached`);
    this.dropped = 0;
  }
}
