import { Inject, Injectable, Module } from '@nestjs/common';
import type {
  DynamicModule,
  InjectionToken,
  ModuleMetadata,
  OnApplicationBootstrap,
  OnModuleDestroy,
  OptionalFactoryDependency,
} from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import type { DataSource } from 'typeorm';
import { EVENT_BUS } from '../event-bus.port';
import type { EventBus } from '../event-bus.port';
import { OutboxRelay } from './outbox-relay';
import type { OutboxRelayOptions } from './outbox-relay.options';
import { resolveOutboxRelayOptions } from './outbox-relay.options';

/** DI token of the OutboxRelayModuleOptions the module was configured with. */
export const OUTBOX_RELAY_OPTIONS = Symbol('OUTBOX_RELAY_OPTIONS');

/** OutboxRelayOptions plus whether the relay starts with the application. */
export interface OutboxRelayModuleOptions extends OutboxRelayOptions {
  /** Start relaying on application bootstrap. Default true; false leaves it to the caller (`start()`). */
  autoStart?: boolean;
}

/** `forRootAsync`: options computed by a factory (e.g. from the config and the root logger). */
export interface OutboxRelayModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers passed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /** Builds the options. */
  useFactory: (...args: never[]) => OutboxRelayModuleOptions | Promise<OutboxRelayModuleOptions>;
}

/**
 * The outbox relay as a Nest provider: an OutboxRelay on the application's DataSource (`DATA_SOURCE`) and event bus
 * (`EVENT_BUS`), started when the application has bootstrapped and stopped when its modules are destroyed, which
 * Nest does before any `onApplicationShutdown` hook, so the in-flight batch finishes while the DataSource and the
 * bus are still open.
 */
@Injectable()
export class OutboxRelayService extends OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly autoStart: boolean;

  constructor(
    @Inject(DATA_SOURCE) dataSource: DataSource,
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(OUTBOX_RELAY_OPTIONS) options: OutboxRelayModuleOptions,
  ) {
    const { autoStart, ...relayOptions } = options;
    super(dataSource, bus, relayOptions);
    this.autoStart = autoStart ?? true;
  }

  /** Starts relaying unless `autoStart` is false. */
  onApplicationBootstrap(): void {
    if (this.autoStart) this.start();
  }

  /** Stops relaying, finishing the batch in flight. */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }
}

/**
 * Provides OutboxRelayService. Import it once per process, in the module of the service that runs the relay; it
 * needs `DATA_SOURCE` (DbModule) and `EVENT_BUS` (EventsModule) to be available, as the global infrastructure
 * module of a Berth process makes them. Several relays (processes) on one database are safe: one works at a time.
 */
@Module({})
export class OutboxRelayModule {
  /** The relay with fixed options (validated here, at composition). */
  static forRoot(options: OutboxRelayModuleOptions = {}): DynamicModule {
    const { autoStart: _autoStart, ...relayOptions } = options;
    resolveOutboxRelayOptions(relayOptions);
    return {
      module: OutboxRelayModule,
      providers: [{ provide: OUTBOX_RELAY_OPTIONS, useValue: options }, OutboxRelayService],
      exports: [OutboxRelayService],
    };
  }

  /** The relay with options built by a factory. */
  static forRootAsync(options: OutboxRelayModuleAsyncOptions): DynamicModule {
    return {
      module: OutboxRelayModule,
      imports: options.imports ?? [],
      providers: [
        { provide: OUTBOX_RELAY_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        OutboxRelayService,
      ],
      exports: [OutboxRelayService],
    };
  }
}
