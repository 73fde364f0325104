import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { ALL_INFRA_NEEDS, main, prepareEmbedded, serviceRoot } from '@berth/platform';
import { MetadataServiceModule } from '@berth/svc-metadata-service';
import { RegistryFrontendModule } from '@berth/svc-registry-frontend';
import { ReplicationWorkerModule } from '@berth/svc-replication-worker';
import { ScanWorkerModule } from '@berth/svc-scan-worker';
import { TokenServiceModule } from '@berth/svc-token-service';
import { WebhookDispatcherModule } from '@berth/svc-webhook-dispatcher';

/** The embedded default (`npm start`): every service in one process on one port. */
main({
  name: 'berth',
  mode: 'embedded',
  prepare: prepareEmbedded,
  rootModule: (config, logger) =>
    serviceRoot(config, logger, {
      needs: ALL_INFRA_NEEDS,
      modules: [
        RegistryFrontendModule,
        TokenServiceModule,
        MetadataServiceModule,
        ReplicationWorkerModule,
        WebhookDispatcherModule,
        ScanWorkerModule,
      ],
    }),
});
