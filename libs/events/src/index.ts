export { EVENT_BUS } from './lib/event-bus.port';
export type {
  BusMessage,
  ConsumerLag,
  EventBus,
  EventBusLogger,
  MessageHandler,
  ReceivedMessage,
  RedeliveryBackoff,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './lib/event-bus.port';
export { createEventEnvelope } from './lib/event-envelope.model';
export type { EventEnvelope, NewEventEnvelope } from './lib/event-envelope.model';
export { decodeEventEnvelope, encodeEventEnvelope, EventHeaders, EVENT_CONTENT_TYPE } from './lib/event-envelope.codec';
export { EventBusError } from './lib/errors/event-bus.error';
export type { EventBusErrorCode } from './lib/errors/event-bus.error';
export { EventBusClosedError } from './lib/errors/event-bus-closed.error';
export { EventBusUnavailableError } from './lib/errors/event-bus-unavailable.error';
export { InvalidEventBusArgumentError } from './lib/errors/invalid-event-bus-argument.error';
export { InvalidEventEnvelopeError } from './lib/errors/invalid-event-envelope.error';
export { InvalidTopicError } from './lib/errors/invalid-topic.error';
export { UnknownTopicError } from './lib/errors/unknown-topic.error';
export { KafkaEventBus } from './lib/adapters/kafka/kafka-event-bus.adapter';
export type { KafkaEventBusOptions, KafkaLogLevel } from './lib/adapters/kafka/kafka-event-bus.options';
export { InProcessBroker } from './lib/adapters/in-process/in-process-broker';
export type { InProcessBrokerOptions } from './lib/adapters/in-process/in-process-broker';
export { InProcessEventBus } from './lib/adapters/in-process/in-process-event-bus.adapter';
export type { InProcessEventBusOptions } from './lib/adapters/in-process/in-process-event-bus.adapter';
export { assertEventsModuleOptions, createEventBus, EventsModule } from './lib/events.module';
export type { EventsModuleOptions } from './lib/events.module';
export { OutboxRelay } from './lib/outbox/outbox-relay';
export type { OutboxRelayStatus, OutboxRoundResult, OutboxTopicBackoff } from './lib/outbox/outbox-relay';
export { OUTBOX_RELAY_DEFAULTS, resolveOutboxRelayOptions } from './lib/outbox/outbox-relay.options';
export type { OutboxRelayOptions, ResolvedOutboxRelayOptions } from './lib/outbox/outbox-relay.options';
export { OUTBOX_RELAY_OPTIONS, OutboxRelayModule, OutboxRelayService } from './lib/outbox/outbox-relay.module';
export type { OutboxRelayModuleAsyncOptions, OutboxRelayModuleOptions } from './lib/outbox/outbox-relay.module';
export type { OutboxLag } from './lib/outbox/outbox-store';
export { notifyOutbox, writeOutboxEvent } from './lib/outbox/outbox-writer';
export type { OutboxEventInput, OutboxWriteResult } from './lib/outbox/outbox-writer';
export { OUTBOX_CHANNEL, OUTBOX_LEADER_LOCK_KEY, OUTBOX_MAX_EVENT_BYTES } from './lib/outbox/outbox.constants';
export { consume, IdempotentConsumer } from './lib/consumer/idempotent-consumer';
export type {
  IdempotencyMode,
  IdempotentConsumerOptions,
  IdempotentConsumerStats,
  IdempotentEventContext,
  IdempotentEventHandler,
} from './lib/consumer/idempotent-consumer';
export { buildDeadLetterMessage, DeadLetterHeaders } from './lib/consumer/dead-letter';
export { PoisonEventError } from './lib/consumer/poison-event.error';
export { collectProcessedEvents } from './lib/consumer/processed-events';
export type { CollectProcessedEventsOptions } from './lib/consumer/processed-events';
export { ensureEventTopics, RegistryTopics } from './lib/consumer/registry-topics';
export type { EnsureEventTopicsOptions } from './lib/consumer/registry-topics';
export { isTransientInfrastructureError } from './lib/consumer/transient-error.util';
export { jitteredBackoffMs } from './lib/consumer/jittered-backoff.util';
export type { RetryBackoff } from './lib/consumer/jittered-backoff.util';
export {
  buildWebhookPingEvent,
  WEBHOOK_PING_EVENT_TYPE,
  WEBHOOK_PING_EVENT_VERSION,
  webhookPingPayload,
} from './lib/webhooks/webhook-ping';
export type { WebhookPingData, WebhookPingPayload } from './lib/webhooks/webhook-ping';
export { signWebhookBody, WEBHOOK_SIGNATURE_HEADER, webhookSigningKey } from './lib/webhooks/webhook-signing';
export {
  buildRegistryEvent,
  REGISTRY_EVENT_TYPES,
  REGISTRY_EVENT_VERSION,
  REGISTRY_EVENTS_TOPIC,
  writeRegistryEvent,
} from './lib/registry/registry-events';
export type {
  EventRequestInfo,
  NewRegistryEvent,
  RegistryEventAction,
  RegistryEventData,
} from './lib/registry/registry-events';
