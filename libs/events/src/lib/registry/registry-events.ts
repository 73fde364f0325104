import { createEventEnvelope, type EventEnvelope } from '../event-envelope.model';
import { RegistryTopics } from '../consumer/registry-topics';
import { notifyOutbox, writeOutboxEvent } from '../outbox/outbox-writer';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/** The topic every data-plane change goes to, keyed by registry id (per-registry order). */
export const REGISTRY_EVENTS_TOPIC = RegistryTopics.Events;

/** ACR webhook actions this feature raises (acr.md §5.2). */
export type RegistryEventAction = 'push' | 'delete' | 'chart_push' | 'chart_delete';

/**
 * Envelope `type` per action: the Azure Event Grid event names of the same events
 * (`Microsoft.ContainerRegistry.ImagePushed` …), so consumers can switch on the type or on `data.action`.
 */
export const REGISTRY_EVENT_TYPES: Record<RegistryEventAction, string> = {
  push: 'ImagePushed',
  delete: 'ImageDeleted',
  chart_push: 'ChartPushed',
  chart_delete: 'ChartDeleted',
};

const CHART_ACTIONS: ReadonlySet<RegistryEventAction> = new Set(['chart_push', 'chart_delete']);

/** Version of `RegistryEventData` inside one envelope type; additive changes only. */
export const REGISTRY_EVENT_VERSION = 1;

/** ACR's webhook payload (ARM `EventContent`), the `data` of every registry event envelope. */
export interface RegistryEventData {
  readonly id: string;
  readonly timestamp: string;
  readonly action: RegistryEventAction;
  readonly target: {
    readonly mediaType: string;
    /** push only (ACR sends size and length, equal). */
    readonly size?: number;
    readonly length?: number;
    readonly digest: string;
    readonly repository: string;
    /** push: the tag pushed, when the manifest was pushed by tag. */
    readonly tag?: string;
    /** chart events: chart name and version. */
    readonly name?: string;
    readonly version?: string;
  };
  /** The HTTP request that caused the event; absent on chart events, as in ACR's chart payload (acr.md §5.2). */
  readonly request?: { readonly id: string; readonly host: string; readonly method: string; readonly useragent: string };
}

/** What the HTTP request contributes to an event (ACR's `request` object). */
export interface EventRequestInfo {
  readonly id: string;
  readonly host: string;
  readonly method: string;
  readonly useragent: string;
  readonly traceparent?: string;
}

export interface NewRegistryEvent {
  readonly registryId: string;
  readonly action: RegistryEventAction;
  readonly target: RegistryEventData['target'];
  readonly request: EventRequestInfo;
}

/** Builds the envelope; the envelope id and the ACR event id are the same UUID (the consumers' dedupe key). */
export function buildRegistryEvent(input: NewRegistryEvent, now: Date = new Date()): EventEnvelope<RegistryEventData> {
  const id = randomUUID();
  const { traceparent, ...request } = input.request;
  return createEventEnvelope<RegistryEventData>({
    id,
    type: REGISTRY_EVENT_TYPES[input.action],
    version: REGISTRY_EVENT_VERSION,
    registryId: input.registryId,
    occurredAt: now,
    ...(traceparent === undefined ? {} : { traceparent }),
    data: { id, timestamp: now.toISOString(), action: input.action, target: input.target, ...(CHART_ACTIONS.has(input.action) ? {} : { request }) },
  });
}

/**
 * Writes the event to the outbox inside the caller's transaction (DESIGN "nothing lost": a manifest or tag
 * change and its event commit together) and wakes the relays when it commits; the relay publishes it
 * afterwards, at least once, in order per registry.
 */
export async function writeRegistryEvent(em: EntityManager, envelope: EventEnvelope<RegistryEventData>): Promise<void> {
  await writeOutboxEvent(em, { topic: REGISTRY_EVENTS_TOPIC, envelope });
  await notifyOutbox(em);
}
