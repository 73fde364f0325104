export { EVENT_BUS } from './lib/event-bus.port';
export type {
  BusMessage,
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
