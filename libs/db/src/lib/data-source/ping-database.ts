import type { DataSource } from 'typeorm';

/** Postgres did not answer: unreachable, refusing connections, or too slow. The message names postgres. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** How long pingDatabase waits by default: under the 2.5 s a /readyz check may take. */
export const PING_TIMEOUT_MS = 2_000;

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').trim() || 'no answer';
}

/**
 * Runs `SELECT 1`. Resolves when Postgres answers; rejects with a DatabaseUnavailableError naming postgres
 * otherwise, always within `timeoutMs` (default 2 s), even when the server is stopped or hangs. Uses the
 * DataSource's pool, so after Postgres comes back the next ping succeeds on a fresh connection.
 */
export async function pingDatabase(dataSource: DataSource, timeoutMs: number = PING_TIMEOUT_MS): Promise<void> {
  if (!dataSource.isInitialized) {
    throw new DatabaseUnavailableError('postgres is unavailable: the data source is not connected');
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DatabaseUnavailableError(`postgres did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([dataSource.query('SELECT 1'), deadline]);
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) throw error;
    throw new DatabaseUnavailableError(`postgres is unavailable: ${reasonOf(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects the DataSource, retrying while Postgres is not reachable yet (a database that starts alongside the
 * service), for at most `timeoutMs`. Rejects with a DatabaseUnavailableError naming postgres and the last reason.
 * Errors that retrying cannot fix (authentication, a missing database) fail at once.
 */
export async function initializeDataSource(
  dataSource: DataSource,
  opts: {
    timeoutMs?: number;
    retryDelayMs?: number;
    /** Called before each retry with the error of the attempt that failed (for a log line). */
    onRetry?: (error: unknown, attempt: number) => void;
  } = {},
): Promise<DataSource> {
  if (dataSource.isInitialized) return dataSource;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retryDelayMs = opts.retryDelayMs ?? 500;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.initialize();
    } catch (error) {
      const retryable = isConnectionError(error);
      if (!retryable || Date.now() + retryDelayMs >= deadline) {
        throw new DatabaseUnavailableError(`postgres is unavailable: ${reasonOf(error)}`, { cause: error });
      }
      opts.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  '57P03', // cannot_connect_now: the database system is starting up / shutting down
  '53300', // too_many_connections
]);

function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout|terminated|Connection terminated|ECONNREFUSED/i.test(message);
}
