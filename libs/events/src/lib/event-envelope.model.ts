import { randomUUID } from 'node:crypto';

/**
 * The versioned wrapper of every Berth event on the bus.
 *
 * Within one `version` of a `type`, changes to `data` are additive only; a breaking change is a new
 * version (and, by convention, a new topic such as `berth.image.pushed.v2`, dual-published for a while).
 */
export interface EventEnvelope<T = unknown> {
  /** UUID, unique per event: the idempotency key every consumer dedupes on. */
  id: string;
  /** What happened, e.g. `ImagePushed`. */
  type: string;
  /** Version of the `data` schema for this `type`, an integer from 1. */
  version: number;
  /** When it happened: ISO-8601 in UTC, e.g. `2026-01-01T12:00:00.000Z`. */
  occurredAt: string;
  /** The registry the event belongs to; also the message key, so events of one registry stay in order. */
  registryId: string;
  /** W3C trace context of the request that caused the event, so one push is one trace. */
  traceparent?: string;
  data: T;
}

export interface NewEventEnvelope<T> {
  type: string;
  version: number;
  registryId: string;
  data: T;
  traceparent?: string;
  /** Defaults to a new random UUID. Pass one to make a retried producer idempotent. */
  id?: string;
  /** Defaults to now. */
  occurredAt?: Date | string;
}

/** Builds an envelope, filling `id` (random UUID) and `occurredAt` (now, UTC) when not given. */
export function createEventEnvelope<T>(input: NewEventEnvelope<T>): EventEnvelope<T> {
  const occurredAt =
    input.occurredAt === undefined
      ? new Date().toISOString()
      : typeof input.occurredAt === 'string'
        ? input.occurredAt
        : input.occurredAt.toISOString();
  const envelope: EventEnvelope<T> = {
    id: input.id ?? randomUUID(),
    type: input.type,
    version: input.version,
    occurredAt,
    registryId: input.registryId,
    data: input.data,
  };
  if (input.traceparent !== undefined) envelope.traceparent = input.traceparent;
  return envelope;
}
