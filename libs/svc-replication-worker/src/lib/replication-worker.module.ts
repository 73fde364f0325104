import { Module } from '@nestjs/common';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure replication-worker uses; its /readyz checks exactly these. */
export const REPLICATION_WORKER_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events'];

/**
 * Premium geo-replication: copies blobs and manifests to replica regions. Features arrive with the
 * replication issue; today it boots, connects and reports readiness.
 */
@Module({})
export class ReplicationWorkerModule {}
