import { EventBusError } from './event-bus.error';

/**
 * The broker did not answer or refused the operation (down, unreachable, timed out). The outcome of a
 * rejected publish is unknown: the message may or may not have been stored, so retrying may duplicate it
 * (consumers are idempotent on the event id).
 */
export class EventBusUnavailableError extends EventBusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENT_BUS_UNAVAILABLE', message, options);
  }
}
