import type { BusMessage } from '../event-bus.port';
import { EventHeaders, encodeEventEnvelope } from '../event-envelope.codec';
import type { EventEnvelope } from '../event-envelope.model';

/** An unpublished outbox row as the relay claims it. */
export interface OutboxRow {
  /** The row id (the event id for rows written by writeOutboxEvent). */
  id: string;
  /** Insertion order (a 64-bit integer, as a decimal string). */
  seq: string;
  /** Where it is published. */
  topic: string;
  /** Its partition key. */
  key: string;
  /** The envelope (jsonb, parsed). */
  payload: unknown;
  /** Bus headers stored with it. */
  headers: Record<string, string>;
}

/** One `EventBus.publish` call: rows of one topic, in `seq` order. */
export interface PublishChunk {
  /** The topic of every row. */
  topic: string;
  /** The rows, in `seq` order. */
  rows: OutboxRow[];
  /** Their bus messages, in the same order. */
  messages: BusMessage[];
}

/** The bus message of a row: value = the envelope as JSON, key = the row's key, headers as described below. */
export function toBusMessage(row: OutboxRow): BusMessage {
  const value = JSON.stringify(row.payload);
  // Rows written by writeOutboxEvent already carry the codec's headers; rows written by hand (or by an older
  // writer) get them derived from the envelope, so every consumer sees the same headers. Stored headers win.
  let derived: Record<string, string> = {};
  try {
    derived = encodeEventEnvelope(row.payload as EventEnvelope).headers ?? {};
  } catch {
    // Not a valid envelope: published as it is (the relay is a transport); consumers dead-letter it.
  }
  const headers: Record<string, string> = { ...derived, ...stringHeaders(row.headers) };
  headers[EventHeaders.Id] ??= row.id;
  return { key: row.key, value, headers };
}

function stringHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/**
 * Splits claimed rows (already in `seq` order) into publish calls: grouped per topic, `seq` order kept within each
 * topic, and each call at most `maxBytes` of values (a row larger than that travels alone). Topics appear in the
 * order of their first row.
 */
export function planChunks(rows: readonly OutboxRow[], maxBytes: number): PublishChunk[][] {
  const byTopic = new Map<string, Array<PublishChunk & { bytes: number }>>();
  for (const row of rows) {
    let chunks = byTopic.get(row.topic);
    if (!chunks) {
      chunks = [];
      byTopic.set(row.topic, chunks);
    }
    const message = toBusMessage(row);
    const size = Buffer.byteLength(message.value as string, 'utf8');
    const last = chunks[chunks.length - 1];
    if (last && last.bytes + size <= maxBytes) {
      last.rows.push(row);
      last.messages.push(message);
      last.bytes += size;
    } else {
      chunks.push({ topic: row.topic, rows: [row], messages: [message], bytes: size });
    }
  }
  return [...byTopic.values()].map((chunks) => chunks.map(({ bytes: _bytes, ...chunk }) => chunk));
}

/** `topic` + NUL + `key`: the unit of order. */
export function orderKey(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

/**
 * The ordering guard: keeps the claimed rows that may be published now. A row is held back when an earlier
 * unpublished row of the same topic and key exists outside the batch (`earliestOutside`: order key → smallest such
 * `seq`), i.e. a row the claim skipped because another session holds its lock. Publishing it would overtake that
 * row. Rows held back stay unpublished and are claimed again in a later round.
 */
export function holdBackOvertakers(
  rows: readonly OutboxRow[],
  earliestOutside: ReadonlyMap<string, string>,
): {
  ready: OutboxRow[];
  heldBack: OutboxRow[];
} {
  const ready: OutboxRow[] = [];
  const heldBack: OutboxRow[] = [];
  for (const row of rows) {
    const earliest = earliestOutside.get(orderKey(row.topic, row.key));
    if (earliest !== undefined && BigInt(earliest) < BigInt(row.seq)) heldBack.push(row);
    else ready.push(row);
  }
  return { ready, heldBack };
}
