import { InProcessBroker } from './in-process-broker';
import { InProcessEventBus } from './in-process-event-bus.adapter';
import { eventBusContract } from '../../testing/event-bus.contract';
import { pollUntil } from '../../testing/poll-until.util';

// Buses of one suite share a broker, as Kafka clients share a cluster.
const broker = new InProcessBroker();
eventBusContract('InProcessEventBus', {
  create: () => Promise.resolve(new InProcessEventBus({ broker, redelivery: { initialMs: 20, maxMs: 200 } })),
  timeoutMs: 4_000,
});

describe(InProcessEventBus.name, () => {
  it('keeps at most maxRetainedMessagesPerPartition messages; a late group starts at the oldest kept', async () => {
    const bus = new InProcessEventBus({ broker: new InProcessBroker({ maxRetainedMessagesPerPartition: 10 }) });
    await bus.ensureTopics([{ name: 'retained', partitions: 1 }]);
    for (let i = 0; i < 100; i++) await bus.publish('retained', [{ key: 'k', value: String(i) }]);
    const seen: number[] = [];
    await bus.subscribe('retained', { groupId: 'late', fromBeginning: true }, (m) => {
      seen.push(Number(m.value.toString()));
      return Promise.resolve();
    });
    await pollUntil('the retained messages', () => seen.at(-1) === 99, 2_000);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(11);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => 100 - seen.length + i));
    await bus.close();
  });

  it('does not share state between buses with their own brokers', async () => {
    const a = new InProcessEventBus();
    const b = new InProcessEventBus();
    await a.ensureTopics([{ name: 'private' }]);
    await expect(b.publish('private', [{ key: 'k', value: 'v' }])).rejects.toThrow('does not exist');
    await Promise.all([a.close(), b.close()]);
  });

  it('isolates the value a handler receives from the publisher and from other groups', async () => {
    const bus = new InProcessEventBus();
    await bus.ensureTopics([{ name: 'copies', partitions: 1 }]);
    const value = Buffer.from('abc');
    const got: string[] = [];
    const mutate = async (m: { value: Buffer }): Promise<void> => {
      got.push(m.value.toString());
      m.value.fill(0);
      await Promise.resolve();
    };
    await bus.subscribe('copies', { groupId: 'g1', fromBeginning: true }, mutate);
    await bus.subscribe('copies', { groupId: 'g2', fromBeginning: true }, mutate);
    await bus.publish('copies', [{ key: 'k', value }]);
    value.fill(0);
    await pollUntil('both groups', () => got.length === 2, 2_000);
    expect(got).toEqual(['abc', 'abc']);
    await bus.close();
  });
});
