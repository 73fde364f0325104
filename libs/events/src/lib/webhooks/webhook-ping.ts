import { createEventEnvelope, type EventEnvelope } from '../event-envelope.model';

/**
 * The envelope `type` of a webhook ping (ARM `webhooks/{name}/ping`): the management API writes one to the outbox
 * (topic `RegistryTopics.Events`, key the registry id, like every registry event) and webhook-dispatcher POSTs ACR's
 * ping payload to that one webhook, whatever its actions and scope, and records the attempt in the delivery log.
 */
export const WEBHOOK_PING_EVENT_TYPE = 'ping';
/** Version of `WebhookPingData`. */
export const WEBHOOK_PING_EVENT_VERSION = 1;

/** The `data` of a ping event. */
export interface WebhookPingData {
  /** The webhook (its `webhooks.id`) to ping; no other webhook receives it. */
  readonly webhookId: string;
}

/** ACR's ping payload: a generic POST with the event id, its time and `action: "ping"`. */
export interface WebhookPingPayload {
  readonly id: string;
  readonly timestamp: string;
  readonly action: 'ping';
}

/**
 * Builds a ping event. Its id is the ping's event id (what ARM's `ping` answers as `{ "id": ... }` and what
 * `listEvents` shows); `traceparent` links the delivery to the management request.
 */
export function buildWebhookPingEvent(input: {
  registryId: string;
  webhookId: string;
  traceparent?: string;
  id?: string;
  occurredAt?: Date;
}): EventEnvelope<WebhookPingData> {
  return createEventEnvelope<WebhookPingData>({
    type: WEBHOOK_PING_EVENT_TYPE,
    version: WEBHOOK_PING_EVENT_VERSION,
    registryId: input.registryId,
    data: { webhookId: input.webhookId },
    ...(input.id === undefined ? {} : { id: input.id }),
    ...(input.occurredAt === undefined ? {} : { occurredAt: input.occurredAt }),
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
  });
}

/** The body a ping delivers. */
export function webhookPingPayload(event: Pick<EventEnvelope, 'id' | 'occurredAt'>): WebhookPingPayload {
  return { id: event.id, timestamp: event.occurredAt, action: 'ping' };
}
