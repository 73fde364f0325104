import { CoreSchema1795378193220 } from './1795378193220-CoreSchema';

/** Every migration, oldest first, listed explicitly (no glob loading: the code also runs bundled). */
export const DB_MIGRATIONS = [CoreSchema1795378193220];
