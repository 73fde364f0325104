import { Module } from '@nestjs/common';
import type { InfraNeed } from '@berth/platform';

/** The infrastructure webhook-dispatcher uses; its /readyz checks exactly these. */
export const WEBHOOK_DISPATCHER_NEEDS: readonly InfraNeed[] = ['database', 'events'];

/**
 * Turns registry events into ACR webhook deliveries. Features arrive with the events issue; today it
 * boots, connects and reports readiness.
 */
@Module({})
export class WebhookDispatcherModule {}
