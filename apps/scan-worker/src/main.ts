import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { ScanWorkerModule, SCAN_WORKER_NEEDS } from '@berth/svc-scan-worker';

main({
  name: 'scan-worker',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: SCAN_WORKER_NEEDS, modules: [ScanWorkerModule] }),
});
