import { EventBusError } from '../../errors/event-bus.error';
import { EventBusUnavailableError } from '../../errors/event-bus-unavailable.error';
import { UnknownTopicError } from '../../errors/unknown-topic.error';
import { describeError } from '../../util/backoff.util';

/** Walks an error and its `cause` chain (kafkajs wraps retried errors) for a Kafka protocol error type. */
export function findKafkaErrorType(err: unknown, type: string): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if ((current as Error & { type?: unknown }).type === type) return true;
    // KafkaJSAggregateError carries its errors in `errors`.
    const nested = (current as Error & { errors?: unknown }).errors;
    if (Array.isArray(nested) && nested.some((e) => findKafkaErrorType(e, type))) return true;
    current = current.cause;
  }
  return false;
}

/** Maps a kafkajs failure to the port's domain errors; the message names Kafka and what was attempted. */
export function toBusError(err: unknown, action: string, topic?: string): EventBusError {
  if (err instanceof EventBusError) return err;
  if (topic !== undefined && findKafkaErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) {
    return new UnknownTopicError(topic, { cause: err });
  }
  return new EventBusUnavailableError(`kafka: ${action} failed: ${describeError(err)}`, { cause: err });
}
