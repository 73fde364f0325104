// Test support: events, writers and a recorder of what reaches the bus.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { EventBus, ReceivedMessage, Subscription } from '../../event-bus.port';
import { decodeEventEnvelope } from '../../event-envelope.codec';
import { createEventEnvelope } from '../../event-envelope.model';
import type { EventEnvelope } from '../../event-envelope.model';
import { notifyOutbox, writeOutboxEvent } from '../outbox-writer';

/** The data of a test event: its key and its position in the key's sequence. */
export interface TestEventData {
  n: number;
}

export const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** `perKey` events for each key, interleaved (k0#0, k1#0, k2#0, k0#1...), in the order they must be written. */
export function interleavedEvents(keys: string[], perKey: number): Array<EventEnvelope<TestEventData>> {
  const events: Array<EventEnvelope<TestEventData>> = [];
  for (let n = 0; n < perKey; n++) {
    for (const key of keys) {
      events.push(
        createEventEnvelope({ type: 'TestEvent', version: 1, registryId: key, data: { n }, traceparent: TRACEPARENT }),
      );
    }
  }
  return events;
}

/** Writes `events` to the outbox in transactions of `perTransaction`, notifying the relays in each. */
export async function writeEvents(
  dataSource: DataSource,
  topic: string,
  events: Array<EventEnvelope<unknown>>,
  { perTransaction = 10, notify = true }: { perTransaction?: number; notify?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < events.length; i += perTransaction) {
    await dataSource.transaction(async (em) => {
      for (const envelope of events.slice(i, i + perTransaction)) await writeOutboxEvent(em, { topic, envelope });
      if (notify) await notifyOutbox(em);
    });
  }
}

/** Records what a consumer group receives on a topic, in arrival order. */
export class Recorder {
  readonly messages: ReceivedMessage[] = [];
  private subscription: Subscription | undefined;

  /** Subscribes `bus` to `topic` from the beginning under `groupId` (default: a new group). */
  static async on(bus: EventBus, topic: string, groupId = `recorder-${randomUUID()}`): Promise<Recorder> {
    const recorder = new Recorder();
    recorder.subscription = await bus.subscribe(topic, { groupId, fromBeginning: true }, (m) => {
      recorder.messages.push(m);
      return Promise.resolve();
    });
    return recorder;
  }

  /** Event ids in arrival order (duplicates included). */
  ids(): string[] {
    return this.messages.map((m) => decodeEventEnvelope(m).id);
  }

  /** Distinct event ids received. */
  distinct(): number {
    return new Set(this.ids()).size;
  }

  /** Per key, the event ids in arrival order with later duplicates removed (what a deduplicating consumer sees). */
  firstSeenByKey(): Map<string, string[]> {
    const seen = new Set<string>();
    const byKey = new Map<string, string[]>();
    for (const m of this.messages) {
      const id = decodeEventEnvelope(m).id;
      if (seen.has(id)) continue;
      seen.add(id);
      byKey.set(m.key, [...(byKey.get(m.key) ?? []), id]);
    }
    return byKey;
  }

  stop(): Promise<void> {
    return this.subscription?.stop() ?? Promise.resolve();
  }
}

/** Per key, the ids of `events` in write order. */
export function expectedByKey(events: Array<EventEnvelope<unknown>>): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const e of events) byKey.set(e.registryId, [...(byKey.get(e.registryId) ?? []), e.id]);
  return byKey;
}

/** Unpublished outbox rows. */
export async function unpublishedCount(dataSource: DataSource): Promise<number> {
  const rows = (await dataSource.query(
    'SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL',
  )) as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}
