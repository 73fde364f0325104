import { InProcessEventBus } from '../adapters/in-process/in-process-event-bus.adapter';
import type { ReceivedMessage } from '../event-bus.port';
import { pollUntil } from '../testing/poll-until.util';
import { ensureEventTopics, RegistryTopics } from './registry-topics';

describe('ensureEventTopics', () => {
  it('should name the registry topic and its dead-letter topic', () => {
    expect(RegistryTopics).toEqual({ Events: 'berth.registry.events.v1', DeadLetter: 'berth.registry.events.v1.dlq' });
  });

  it('should create both topics with the partitions asked for, idempotently', async () => {
    const bus = new InProcessEventBus();
    try {
      await ensureEventTopics(bus, { partitions: 2 });
      await ensureEventTopics(bus, { partitions: 5 });
      const received: ReceivedMessage[] = [];
      for (const topic of Object.values(RegistryTopics)) {
        await bus.subscribe(topic, { groupId: 'check', fromBeginning: true }, (m) => {
          received.push(m);
          return Promise.resolve();
        });
        await bus.publish(
          topic,
          Array.from({ length: 20 }, (_, i) => ({ key: `reg-${i}`, value: 'v' })),
        );
      }
      await pollUntil('every message', () => received.length === 40, 2_000);
      expect(new Set(received.map((m) => m.partition))).toEqual(new Set([0, 1]));
    } finally {
      await bus.close();
    }
  });
});
