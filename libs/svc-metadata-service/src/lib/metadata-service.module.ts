import { Module } from '@nestjs/common';
import { DefaultRegistryBootstrap } from './bootstrap/default-registry.bootstrap';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure metadata-service uses; its /readyz checks exactly these. */
export const METADATA_SERVICE_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events', 'cache'];

/**
 * The ARM-shaped management API, owner of the Postgres schema and migrations, and the lifecycle jobs
 * (usage, retention, garbage collection). Management features arrive with the management issue; today it bootstraps
 * the installation (tenant, subscription, resource group `berth`, the default registry) and reports readiness.
 */
@Module({ providers: [DefaultRegistryBootstrap] })
export class MetadataServiceModule {}
