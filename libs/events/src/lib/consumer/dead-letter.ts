import type { BusMessage, ReceivedMessage } from '../event-bus.port';
import { describeError } from '../util/backoff.util';

/** Headers a consumer adds to a message it parks on a dead-letter topic (the original headers are kept). */
export const DeadLetterHeaders = {
  /** Why the last attempt failed: the error's class and message, at most 1000 characters. */
  Error: 'berth-error',
  /** How many times the handler ran (0 when the message was not a valid event envelope). */
  Attempts: 'berth-attempts',
  /** The consumer group that gave up on it (the one to replay it to). */
  ConsumerGroup: 'berth-consumer-group',
  /** The topic the message came from. */
  OriginalTopic: 'berth-original-topic',
  /** Its partition there. */
  OriginalPartition: 'berth-original-partition',
  /** Its offset there. */
  OriginalOffset: 'berth-original-offset',
  /** When the consumer gave up (ISO-8601, UTC). */
  FailedAt: 'berth-failed-at',
} as const;

const MAX_ERROR_LENGTH = 1000;

/**
 * The dead-letter copy of `message`: same key and value (byte for byte, so it can be replayed as it is), its headers
 * plus DeadLetterHeaders. The error message is included, never its stack.
 */
export function buildDeadLetterMessage(
  message: ReceivedMessage,
  details: { error: unknown; attempts: number; groupId: string; failedAt?: Date },
): BusMessage {
  const name = details.error instanceof Error ? details.error.name : 'Error';
  const text = `${name}: ${describeError(details.error)}`;
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DeadLetterHeaders.Error]: text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text,
      [DeadLetterHeaders.Attempts]: String(details.attempts),
      [DeadLetterHeaders.ConsumerGroup]: details.groupId,
      [DeadLetterHeaders.OriginalTopic]: message.topic,
      [DeadLetterHeaders.OriginalPartition]: String(message.partition),
      [DeadLetterHeaders.OriginalOffset]: message.offset,
      [DeadLetterHeaders.FailedAt]: (details.failedAt ?? new Date()).toISOString(),
    },
  };
}
