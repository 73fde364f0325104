import type { ReceivedMessage } from '../event-bus.port';
import { buildDeadLetterMessage, DeadLetterHeaders } from './dead-letter';

const message: ReceivedMessage = {
  topic: 'berth.registry.events.v1',
  partition: 2,
  offset: '41',
  key: 'reg-1',
  value: Buffer.from('{"id":"x"}'),
  headers: { 'berth-event-id': 'x', traceparent: 'tp' },
  timestamp: new Date(0),
  attempt: 1,
};

describe('buildDeadLetterMessage', () => {
  it('should keep key, value and headers and add the dead-letter headers', () => {
    const failedAt = new Date('2026-01-02T03:04:05.000Z');
    const letter = buildDeadLetterMessage(message, {
      error: new RangeError('out of range'),
      attempts: 5,
      groupId: 'g',
      failedAt,
    });
    expect(letter).toEqual({
      key: 'reg-1',
      value: message.value,
      headers: {
        'berth-event-id': 'x',
        traceparent: 'tp',
        [DeadLetterHeaders.Error]: 'RangeError: out of range',
        [DeadLetterHeaders.Attempts]: '5',
        [DeadLetterHeaders.ConsumerGroup]: 'g',
        [DeadLetterHeaders.OriginalTopic]: 'berth.registry.events.v1',
        [DeadLetterHeaders.OriginalPartition]: '2',
        [DeadLetterHeaders.OriginalOffset]: '41',
        [DeadLetterHeaders.FailedAt]: '2026-01-02T03:04:05.000Z',
      },
    });
  });

  it('should cap the error at 1000 characters and describe non-Error throws', () => {
    const long = buildDeadLetterMessage(message, { error: new Error('x'.repeat(5_000)), attempts: 1, groupId: 'g' });
    expect(long.headers?.[DeadLetterHeaders.Error]).toHaveLength(1000);
    expect(long.headers?.[DeadLetterHeaders.Error]?.endsWith('…')).toBe(true);
    const thrown = buildDeadLetterMessage(message, { error: 'a string', attempts: 1, groupId: 'g' });
    expect(thrown.headers?.[DeadLetterHeaders.Error]).toBe('Error: a string');
  });
});
