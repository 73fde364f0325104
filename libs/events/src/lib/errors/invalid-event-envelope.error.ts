import { EventBusError } from './event-bus.error';

/**
 * A bus message is not a valid event envelope (not JSON, a field missing or of the wrong shape, or its
 * `data` refused by the caller's parser). `field` names the offending field; the payload itself is never
 * copied into the message, since it may be large or sensitive.
 */
export class InvalidEventEnvelopeError extends EventBusError {
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_EVENT_ENVELOPE', `invalid event envelope: ${field} ${reason}`, options);
  }
}
