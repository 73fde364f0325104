import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { WebhookDispatcherModule, WEBHOOK_DISPATCHER_NEEDS } from '@berth/svc-webhook-dispatcher';

main({
  name: 'webhook-dispatcher',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: WEBHOOK_DISPATCHER_NEEDS, modules: [WebhookDispatcherModule] }),
});
