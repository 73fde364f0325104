import { CoreSchema1795378193220 } from './1795378193220-CoreSchema';
import { AcrTimeOrderIndexes1795386793794 } from './1795386793794-AcrTimeOrderIndexes';
import { StorageUsageCounters1795387936696 } from './1795387936696-StorageUsageCounters';
import { RepositoryChangeNotify1795395238261 } from './1795395238261-RepositoryChangeNotify';

/** Every migration, oldest first, listed explicitly (no glob loading: the code also runs bundled). */
export const DB_MIGRATIONS = [CoreSchema1795378193220, AcrTimeOrderIndexes1795386793794, StorageUsageCounters1795387936696, RepositoryChangeNotify1795395238261];
