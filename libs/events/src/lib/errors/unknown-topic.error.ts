import { EventBusError } from './event-bus.error';

/** The topic does not exist; create it with `EventBus.ensureTopics` first. */
export class UnknownTopicError extends EventBusError {
  constructor(
    readonly topic: string,
    options?: { cause?: unknown },
  ) {
    super('UNKNOWN_TOPIC', `topic "${topic}" does not exist; create it with ensureTopics first`, options);
  }
}
