import { CacheError } from './cache.error';

/** A caller passed a value the port does not allow, or a counter key holds a value that is not an integer. */
export class InvalidCacheArgumentError extends CacheError {
  constructor(message: string) {
    super('INVALID_CACHE_ARGUMENT', message);
  }
}
