import { Module } from '@nestjs/common';
import { OutboxRelayModule } from '@berth/events';
import { ROOT_LOGGER } from '@berth/platform';
import type { Logger } from 'pino';
import { DefaultRegistryBootstrap } from './bootstrap/default-registry.bootstrap';
import { EventTopicsBootstrap } from './events/event-topics.bootstrap';
import { ManagementModule } from './management/management.module';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure metadata-service uses; its /readyz checks exactly these. */
export const METADATA_SERVICE_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events', 'cache'];

/**
 * The ARM-shaped management API, owner of the Postgres schema and migrations, and the lifecycle jobs
 * (usage, retention, garbage collection). It serves the management API (ManagementModule), bootstraps
 * the installation (tenant, subscription, resource group `berth`, the default registry), creates the event
 * topics and runs the outbox relay (one active relay across replicas, elected through a Postgres advisory lock).
 */
@Module({
  imports: [
    ManagementModule,
    OutboxRelayModule.forRootAsync({
      inject: [ROOT_LOGGER],
      useFactory: (logger: Logger) => ({ logger: logger.child({ component: 'outbox-relay' }) }),
    }),
  ],
  providers: [DefaultRegistryBootstrap, EventTopicsBootstrap],
})
export class MetadataServiceModule {}
