import { Module } from '@nestjs/common';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure metadata-service uses; its /readyz checks exactly these. */
export const METADATA_SERVICE_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events', 'cache'];

/**
 * The ARM-shaped management API, owner of the Postgres schema and migrations, and the lifecycle jobs
 * (usage, retention, garbage collection). Features arrive with the management issue; today it boots,
 * connects and reports readiness.
 */
@Module({})
export class MetadataServiceModule {}
