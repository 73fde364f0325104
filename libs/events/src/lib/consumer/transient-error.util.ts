import { DatabaseUnavailableError } from '@berth/db';
import { EventBusUnavailableError } from '../errors/event-bus-unavailable.error';

/**
 * SQLSTATEs that say "try again", not "this event is wrong": connection exceptions (class 08), the server shutting
 * down or starting (57P01-57P03), too many connections (53300), serialization failures and deadlocks (40001,
 * 40P01), a lock or statement that timed out (55P03, 57014) and a session killed for idling in a transaction
 * (25P03).
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '55P03', '57014', '25P03']);

/** Messages of node-postgres / the pool when the connection is gone (they carry no SQLSTATE). */
const CONNECTION_LOST =
  /connection terminated|connection ended|terminating connection|client has encountered a connection error|timeout exceeded when trying to connect|driver not connected|connection is closed/i;

/**
 * Whether `err` (or an error in its `cause` chain) is an outage of Berth's own infrastructure: Postgres unreachable
 * or restarting, a serialization failure or deadlock, the event bus unavailable. Such failures say nothing about the
 * event, so consumers retry them without counting an attempt and never dead-letter an event because of them.
 * Errors of other systems (an HTTP receiver refusing connections) are deliberately not matched: they count.
 */
export function isTransientInfrastructureError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if (current instanceof DatabaseUnavailableError || current instanceof EventBusUnavailableError) return true;
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      /^[0-9A-Z]{5}$/.test(code) &&
      (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code))
    ) {
      return true;
    }
    if (CONNECTION_LOST.test(current.message)) return true;
    current = current.cause ?? (current as { driverError?: unknown }).driverError;
  }
  return false;
}
