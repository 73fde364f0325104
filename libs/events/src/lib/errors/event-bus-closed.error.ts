import { EventBusError } from './event-bus.error';

/** The adapter was closed with `close()`; create a new one to use the bus again. */
export class EventBusClosedError extends EventBusError {
  constructor(adapter: string) {
    super('EVENT_BUS_CLOSED', `${adapter}: the event bus is closed`);
  }
}
