/** Machine-readable codes of the cache's domain errors. */
export type CacheErrorCode = 'CACHE_UNAVAILABLE' | 'CACHE_CLOSED' | 'INVALID_CACHE_ARGUMENT';

/** Base of every error the cache lib throws on purpose; `code` is stable, the message is for humans. */
export class CacheError extends Error {
  constructor(
    readonly code: CacheErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
