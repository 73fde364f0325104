import { Module, type DynamicModule } from '@nestjs/common';
import type { InfraNeed } from '@berth/platform';
import {
  WEBHOOK_DISPATCHER_OPTIONS,
  WebhookDispatcherService,
  type WebhookDispatcherOptions,
} from './webhook-dispatcher.service';

/** The infrastructure webhook-dispatcher uses; its /readyz checks exactly these. */
export const WEBHOOK_DISPATCHER_NEEDS: readonly InfraNeed[] = ['database', 'events'];

/**
 * Turns registry events into ACR webhook deliveries: consumes `RegistryTopics.Events` (group `webhook-dispatcher`),
 * records one `webhook_deliveries` row per matching webhook, POSTs ACR's payload (signed, SSRF-guarded) and retries
 * failures with jittered exponential backoff. Import the class for the defaults, or `forRoot` to tune them.
 */
@Module({ providers: [WebhookDispatcherService], exports: [WebhookDispatcherService] })
export class WebhookDispatcherModule {
  static forRoot(options: Partial<WebhookDispatcherOptions>): DynamicModule {
    return {
      module: WebhookDispatcherModule,
      providers: [{ provide: WEBHOOK_DISPATCHER_OPTIONS, useValue: options }],
    };
  }
}
