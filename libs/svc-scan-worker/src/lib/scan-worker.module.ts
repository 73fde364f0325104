import { Module } from '@nestjs/common';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure scan-worker uses; its /readyz checks exactly these. */
export const SCAN_WORKER_NEEDS: readonly InfraNeed[] = ['database', 'blobs', 'events'];

/**
 * Scans pushed images against an OSV advisory database. Features arrive with the scanning issue; today
 * it boots, connects and reports readiness.
 */
@Module({})
export class ScanWorkerModule {}
