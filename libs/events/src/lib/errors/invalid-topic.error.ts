import { EventBusError } from './event-bus.error';

/** A topic name Kafka would refuse: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`. */
export class InvalidTopicError extends EventBusError {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super('INVALID_TOPIC', `invalid topic name ${JSON.stringify(topic)}: ${reason}`);
  }
}
