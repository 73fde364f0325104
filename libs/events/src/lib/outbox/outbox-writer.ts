import type { EntityManager } from 'typeorm';
import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { encodeEventEnvelope } from '../event-envelope.codec';
import type { EventEnvelope } from '../event-envelope.model';
import { validateTopicName } from '../util/validate-bus-arguments.util';
import { OUTBOX_CHANNEL, OUTBOX_MAX_EVENT_BYTES } from './outbox.constants';

/** One event to put in the outbox. */
export interface OutboxEventInput<T = unknown> {
  /** The bus topic it is published to, e.g. `RegistryTopics.Events`. */
  topic: string;
  /** The envelope; validated here, so a row the consumers would refuse is never written. */
  envelope: EventEnvelope<T>;
  /** The partition key. Default: `envelope.registryId` (per-registry order). */
  key?: string;
}

/** What `writeOutboxEvent` did. */
export interface OutboxWriteResult {
  /** The row id, which is the envelope id (the consumers' idempotency key). */
  id: string;
  /**
   * False when a row with this id already existed (the envelope was written before, e.g. by a retried producer
   * that reuses its event id): nothing was written, and the event is still published exactly as the first write
   * said.
   */
  inserted: boolean;
}

/**
 * Inserts an event into `outbox_events` through `em`. Call it with the EntityManager of the transaction that makes
 * the change the event describes: the event then commits (or rolls back) together with the change, and the outbox
 * relay publishes it afterwards, at least once. Outside a transaction it is a plain autocommitted insert.
 *
 * The row holds the envelope as `payload`, the partition key (default the registry id) and the bus headers the
 * envelope codec sets (`berth-event-id`, `berth-event-type`, `berth-event-version`, `content-type`, and
 * `traceparent` when the envelope has one), so the relay publishes exactly what `encodeEventEnvelope` would.
 * The row id is the envelope id; writing the same envelope again is a no-op (`inserted: false`).
 *
 * Rejects with InvalidTopicError / InvalidEventEnvelopeError / InvalidEventBusArgumentError (an empty key, an
 * event above OUTBOX_MAX_EVENT_BYTES) before touching the database. Call `notifyOutbox(em)` once in the same
 * transaction to wake the relays as soon as it commits.
 */
export async function writeOutboxEvent<T>(em: EntityManager, input: OutboxEventInput<T>): Promise<OutboxWriteResult> {
  validateTopicName(input.topic);
  const message = encodeEventEnvelope(input.envelope);
  const key = input.key ?? message.key;
  if (typeof key !== 'string' || key === '')
    throw new InvalidEventBusArgumentError('outbox: key must be a non-empty string');
  const payload = typeof message.value === 'string' ? message.value : message.value.toString('utf8');
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > OUTBOX_MAX_EVENT_BYTES) {
    throw new InvalidEventBusArgumentError(
      `outbox: event ${input.envelope.id} is ${bytes} bytes encoded; at most ${OUTBOX_MAX_EVENT_BYTES} are accepted`,
    );
  }
  const rows = (await em.query(
    `INSERT INTO outbox_events (id, topic, key, payload, headers)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [input.envelope.id, input.topic, key, payload, JSON.stringify(message.headers ?? {})],
  )) as unknown[];
  return { id: input.envelope.id, inserted: rows.length > 0 };
}

/**
 * Signals the relays (Postgres `NOTIFY berth_outbox`) that new outbox rows exist. Inside a transaction the signal is
 * delivered when it commits, and not at all if it rolls back; several calls in one transaction are delivered once.
 * Optional for correctness (relays also poll), but it takes the relay's latency from the poll interval to a few
 * milliseconds. Note that NOTIFY briefly serialises committing transactions that notified, which is negligible at
 * the rates a registry sees.
 */
export async function notifyOutbox(em: EntityManager): Promise<void> {
  await em.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, '']);
}
