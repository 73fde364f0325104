import { context, isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';

export interface TraceLogFields {
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
}

/**
 * The active span's ids for a log line (`trace_id`, `span_id`, `trace_flags` as W3C hex), or nothing outside
 * a trace. Used as pino's `mixin`, so every line written while handling a request or an event carries the
 * ids that find its trace.
 */
export function traceLogFields(): TraceLogFields {
  const sc = trace.getSpanContext(context.active());
  if (!sc || !isSpanContextValid(sc)) return {};
  return {
    trace_id: sc.traceId,
    span_id: sc.spanId,
    trace_flags: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00',
  };
}
