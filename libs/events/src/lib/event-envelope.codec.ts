import { InvalidEventEnvelopeError } from './errors/invalid-event-envelope.error';
import type { BusMessage, ReceivedMessage } from './event-bus.port';
import type { EventEnvelope } from './event-envelope.model';

/** Header names set on every encoded event, so routers and tools need not parse the value. */
export const EventHeaders = {
  Id: 'berth-event-id',
  Type: 'berth-event-type',
  Version: 'berth-event-version',
  ContentType: 'content-type',
  /** W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header). */
  Traceparent: 'traceparent',
} as const;

export const EVENT_CONTENT_TYPE = 'application/json';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ISO-8601 date-time with a mandatory offset (Z or ±hh:mm), as Date#toISOString and RFC 3339 write it.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
// trace-context: version "00" format; other versions may append fields after the flags.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;
const ALL_ZERO_TRACE = /^[0-9a-f]{2}-0{32}-/;
const ALL_ZERO_SPAN = /^[0-9a-f]{2}-[0-9a-f]{32}-0{16}-/;

/**
 * Encodes an envelope as a bus message: JSON value, key = `registryId`, headers `berth-event-id`,
 * `berth-event-type`, `berth-event-version`, `content-type` and `traceparent` (when present).
 * Validates the envelope first, so a producer cannot publish what consumers would refuse.
 */
export function encodeEventEnvelope<T>(envelope: EventEnvelope<T>): BusMessage {
  assertEnvelope(envelope);
  const headers: Record<string, string> = {
    [EventHeaders.Id]: envelope.id,
    [EventHeaders.Type]: envelope.type,
    [EventHeaders.Version]: String(envelope.version),
    [EventHeaders.ContentType]: EVENT_CONTENT_TYPE,
  };
  if (envelope.traceparent !== undefined) headers[EventHeaders.Traceparent] = envelope.traceparent;
  return { key: envelope.registryId, value: JSON.stringify(envelope), headers };
}

/**
 * Decodes and validates the envelope in a received message's value. Rejects anything that is not a
 * well-formed envelope with InvalidEventEnvelopeError (naming the field). When `parseData` is given it
 * validates `data` and its result becomes `data`; whatever it throws is wrapped in the same error.
 */
export function decodeEventEnvelope<T = unknown>(
  message: Pick<ReceivedMessage, 'value'> | Pick<BusMessage, 'value'>,
  parseData?: (data: unknown) => T,
): EventEnvelope<T> {
  const text = typeof message.value === 'string' ? message.value : message.value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidEventEnvelopeError('value', 'is not JSON', { cause: err });
  }
  assertEnvelope(parsed);
  if (!parseData) return parsed as EventEnvelope<T>;
  let data: T;
  try {
    data = parseData(parsed.data);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InvalidEventEnvelopeError('data', `was refused by its parser: ${reason}`, { cause: err });
  }
  return { ...parsed, data };
}

function assertEnvelope(value: unknown): asserts value is EventEnvelope<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventEnvelopeError('envelope', 'is not an object');
  }
  const e = value as Record<string, unknown>;
  if (typeof e['id'] !== 'string' || !UUID.test(e['id'])) throw new InvalidEventEnvelopeError('id', 'is not a UUID');
  if (typeof e['type'] !== 'string' || e['type'].trim() === '') {
    throw new InvalidEventEnvelopeError('type', 'is not a non-empty string');
  }
  if (typeof e['version'] !== 'number' || !Number.isInteger(e['version']) || e['version'] < 1) {
    throw new InvalidEventEnvelopeError('version', 'is not an integer from 1');
  }
  const occurredAt = e['occurredAt'];
  if (typeof occurredAt !== 'string' || !ISO_DATE_TIME.test(occurredAt) || Number.isNaN(Date.parse(occurredAt))) {
    throw new InvalidEventEnvelopeError('occurredAt', 'is not an ISO-8601 date-time with an offset');
  }
  if (typeof e['registryId'] !== 'string' || e['registryId'] === '') {
    throw new InvalidEventEnvelopeError('registryId', 'is not a non-empty string');
  }
  const traceparent = e['traceparent'];
  if (
    traceparent !== undefined &&
    (typeof traceparent !== 'string' ||
      !TRACEPARENT.test(traceparent) ||
      traceparent.startsWith('ff') ||
      ALL_ZERO_TRACE.test(traceparent) ||
      ALL_ZERO_SPAN.test(traceparent))
  ) {
    throw new InvalidEventEnvelopeError('traceparent', 'is not a W3C traceparent');
  }
  if (!('data' in e) || e['data'] === undefined) throw new InvalidEventEnvelopeError('data', 'is missing');
}
