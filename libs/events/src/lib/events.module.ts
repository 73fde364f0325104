import { Inject, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { InProcessBroker } from './adapters/in-process/in-process-broker';
import { InProcessEventBus } from './adapters/in-process/in-process-event-bus.adapter';
import type { InProcessEventBusOptions } from './adapters/in-process/in-process-event-bus.adapter';
import { KafkaEventBus } from './adapters/kafka/kafka-event-bus.adapter';
import type { KafkaEventBusOptions } from './adapters/kafka/kafka-event-bus.options';
import { InvalidEventBusArgumentError } from './errors/invalid-event-bus-argument.error';
import { EVENT_BUS } from './event-bus.port';
import type { EventBus } from './event-bus.port';

export type EventsModuleOptions =
  | { driver: 'kafka'; kafka: KafkaEventBusOptions }
  | { driver: 'inprocess'; inprocess?: InProcessEventBusOptions };

/**
 * Every `driver: 'inprocess'` bus without its own broker shares this one, as every Kafka client of a
 * deployment shares one cluster: the embedded host imports each service's module, and each may call
 * `EventsModule.forRoot`, yet a message published by one service must reach the others.
 */
const processBroker = new InProcessBroker();

/** Throws InvalidEventBusArgumentError for an inconsistent configuration (at composition, not first use). */
export function assertEventsModuleOptions(options: EventsModuleOptions): void {
  switch (options.driver) {
    case 'kafka':
      if (!options.kafka?.brokers?.length || !options.kafka.clientId) {
        throw new InvalidEventBusArgumentError("EventsModule: driver 'kafka' needs kafka.brokers and kafka.clientId");
      }
      return;
    case 'inprocess':
      return;
    default: {
      const driver: unknown = (options as { driver: unknown }).driver;
      throw new InvalidEventBusArgumentError(`EventsModule: unknown driver ${JSON.stringify(driver)}`);
    }
  }
}

/** Builds the adapter `options` select. */
export function createEventBus(options: EventsModuleOptions): EventBus {
  assertEventsModuleOptions(options);
  if (options.driver === 'kafka') return new KafkaEventBus(options.kafka);
  return new InProcessEventBus({ ...options.inprocess, broker: options.inprocess?.broker ?? processBroker });
}

/**
 * Provides the configured EventBus under `EVENT_BUS` and closes it on application shutdown
 * (`app.close()`, or a signal once `enableShutdownHooks()` was called). The adapter connects lazily, on
 * first use.
 */
@Module({})
export class EventsModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus) {}

  static forRoot(options: EventsModuleOptions): DynamicModule {
    assertEventsModuleOptions(options);
    return {
      module: EventsModule,
      providers: [{ provide: EVENT_BUS, useFactory: (): EventBus => createEventBus(options) }],
      exports: [EVENT_BUS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
