/** Machine-readable codes of the event bus' domain errors. */
export type EventBusErrorCode =
  | 'EVENT_BUS_UNAVAILABLE'
  | 'EVENT_BUS_CLOSED'
  | 'UNKNOWN_TOPIC'
  | 'INVALID_TOPIC'
  | 'INVALID_ARGUMENT'
  | 'INVALID_EVENT_ENVELOPE';

/** Base of every error the events lib throws on purpose; `code` is stable, the message is for humans. */
export class EventBusError extends Error {
  constructor(
    readonly code: EventBusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
