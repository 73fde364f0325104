import '@berth/platform/thread-pool'; // first: libuv sizes its thread pool once
import './instrument';
import { main, serviceRoot } from '@berth/platform';
import { MetadataServiceModule, METADATA_SERVICE_NEEDS } from '@berth/svc-metadata-service';

main({
  name: 'metadata-service',
  mode: 'distributed',
  rootModule: (config, logger) => serviceRoot(config, logger, { needs: METADATA_SERVICE_NEEDS, modules: [MetadataServiceModule] }),
});
