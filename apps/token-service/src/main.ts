import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { TokenServiceModule, TOKEN_SERVICE_NEEDS } from '@berth/svc-token-service';

main({
  name: 'token-service',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: TOKEN_SERVICE_NEEDS, modules: [TokenServiceModule] }),
});
