import { DatabaseUnavailableError } from './ping-database';

/** Socket-level failures of a connection to Postgres. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs that mean "the server cannot serve this now" rather than "this statement is wrong": shutting down or
 * starting (57P01-03), an I/O error (58030), and class 53, insufficient resources (disk full, out of memory, too
 * many connections, a configured limit), which UNAVAILABLE_CLASSES covers.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '58030']);
/** SQLSTATE classes (their first two characters) that are unavailability as a whole: connection exceptions, insufficient resources. */
const UNAVAILABLE_CLASSES = ['08', '53'];
/** pg's messages for a pool that could not hand out a connection in time, or a connection that went away. */
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /Connection terminated unexpectedly/i,
];

/**
 * Whether an error raised by a query means the database is unavailable (down, restarting, out of connections or
 * disk space, or the pool could not provide a connection in time) rather than that the request was wrong. Callers answer these
 * 503 with Retry-After instead of 500. Looks through TypeORM's `driverError` and `cause` chains.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return someInChain(error, (e) => {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))) return true;
    return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string));
  });
}

/**
 * SQLSTATEs of a transaction that lost a race with another one and is worth running again from the start: a deadlock
 * (40P01), a serialization failure (40001), and a foreign key whose parent row a concurrent transaction deleted
 * (23503: e.g. a push whose repository was deleted under it; run again, it finds the repository gone and recreates it
 * or reports what is missing).
 */
const WRITE_CONFLICT_SQLSTATES = new Set(['40P01', '40001', '23503']);

/** Whether an error means the transaction lost a race with a concurrent one (see WRITE_CONFLICT_SQLSTATES). */
export function isWriteConflict(error: unknown): boolean {
  return someInChain(error, (e) => typeof e.code === 'string' && WRITE_CONFLICT_SQLSTATES.has(e.code));
}

/**
 * Runs `work` (a whole transaction) again when it lost a race with a concurrent transaction, up to `attempts` times
 * with a short random pause between tries; any other error, or the last conflict, is thrown as it is.
 */
export async function retryOnWriteConflict<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !isWriteConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

type ErrorLike = { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };

/** Whether `test` holds for the error or anything in its TypeORM `driverError` / `cause` chain. */
function someInChain(error: unknown, test: (e: ErrorLike) => boolean): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as ErrorLike;
    if (test(e)) return true;
    current = e.driverError ?? e.cause;
  }
  return false;
}
