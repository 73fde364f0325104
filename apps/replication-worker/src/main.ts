import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { ReplicationWorkerModule, REPLICATION_WORKER_NEEDS } from '@berth/svc-replication-worker';

main({
  name: 'replication-worker',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: REPLICATION_WORKER_NEEDS, modules: [ReplicationWorkerModule] }),
});
