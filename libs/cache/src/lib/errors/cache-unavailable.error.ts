import { CacheError } from './cache.error';

/**
 * The cache server is down, unreachable or too slow. Callers turn it into 503 (or fail open, where a policy
 * says so). For a write, the outcome is unknown: the server may have applied it before the failure.
 */
export class CacheUnavailableError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHE_UNAVAILABLE', message, options);
  }
}
