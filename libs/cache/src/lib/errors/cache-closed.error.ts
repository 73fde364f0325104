import { CacheError } from './cache.error';

/** The store was closed with `close()`. */
export class CacheClosedError extends CacheError {
  constructor(store: string) {
    super('CACHE_CLOSED', `${store}: the cache store is closed`);
  }
}
