import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENT_BUS, ensureEventTopics, type EventBus } from '@berth/events';

/**
 * Creates the registry event topic and its dead-letter topic at start (idempotent; topics are never
 * auto-created), before the outbox relay publishes to them. An existing topic keeps its partition count.
 */
@Injectable()
export class EventTopicsBootstrap implements OnModuleInit {
  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus) {}

  async onModuleInit(): Promise<void> {
    await ensureEventTopics(this.bus);
  }
}
