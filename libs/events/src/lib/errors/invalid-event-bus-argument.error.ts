import { EventBusError } from './event-bus.error';

/** A caller passed a value the port's contract does not allow (empty group id, bad partition count...). */
export class InvalidEventBusArgumentError extends EventBusError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
