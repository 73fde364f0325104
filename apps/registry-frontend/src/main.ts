import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { RegistryFrontendModule, REGISTRY_FRONTEND_NEEDS } from '@berth/svc-registry-frontend';

main({
  name: 'registry-frontend',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: REGISTRY_FRONTEND_NEEDS, modules: [RegistryFrontendModule] }),
});
