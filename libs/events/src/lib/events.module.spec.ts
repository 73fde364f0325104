import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventBusClosedError } from './errors/event-bus-closed.error';
import { InvalidEventBusArgumentError } from './errors/invalid-event-bus-argument.error';
import { InProcessEventBus } from './adapters/in-process/in-process-event-bus.adapter';
import { EVENT_BUS } from './event-bus.port';
import type { EventBus } from './event-bus.port';
import { EventsModule } from './events.module';
import type { EventsModuleOptions } from './events.module';
import { pollUntil } from './testing/poll-until.util';

@Injectable()
class Publisher {
  constructor(@Inject(EVENT_BUS) readonly bus: EventBus) {}
}

@Module({ imports: [EventsModule.forRoot({ driver: 'inprocess' })], providers: [Publisher], exports: [Publisher] })
class ServiceA {}

@Injectable()
class Consumer {
  constructor(@Inject(EVENT_BUS) readonly bus: EventBus) {}
}

@Module({ imports: [EventsModule.forRoot({ driver: 'inprocess' })], providers: [Consumer], exports: [Consumer] })
class ServiceB {}

describe(EventsModule.name, () => {
  it('should provide the in-process bus under EVENT_BUS and close it on application shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ driver: 'inprocess' })],
    }).compile();
    const app = await moduleRef.init();
    const bus = app.get<EventBus>(EVENT_BUS);
    expect(bus).toBeInstanceOf(InProcessEventBus);
    await expect(bus.ping()).resolves.toBeUndefined();
    await app.close();
    await expect(bus.ping()).rejects.toBeInstanceOf(EventBusClosedError);
  });

  it('should let services that each import forRoot (the embedded host) exchange messages', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ServiceA, ServiceB] }).compile();
    const app = await moduleRef.init();
    const { bus: publisher } = app.get(Publisher);
    const { bus: consumer } = app.get(Consumer);
    expect(publisher).not.toBe(consumer);
    const topic = `module-spec-${Date.now()}`;
    await consumer.ensureTopics([{ name: topic }]);
    const got: string[] = [];
    await consumer.subscribe(topic, { groupId: 'b' }, (m) => {
      got.push(m.value.toString());
      return Promise.resolve();
    });
    await publisher.publish(topic, [{ key: 'r', value: 'hello' }]);
    await pollUntil('the message across services', () => got.length === 1, 2_000);
    expect(got).toEqual(['hello']);
    await app.close();
  });

  it('should reject an inconsistent configuration when composed', () => {
    expect(() => EventsModule.forRoot({ driver: 'kafka' } as unknown as EventsModuleOptions)).toThrow(
      InvalidEventBusArgumentError,
    );
    expect(() => EventsModule.forRoot({ driver: 'kafka', kafka: { brokers: [], clientId: 'x' } })).toThrow(
      /kafka.brokers/,
    );
    expect(() => EventsModule.forRoot({ driver: 'rabbit' } as unknown as EventsModuleOptions)).toThrow(
      /unknown driver "rabbit"/,
    );
  });
});
