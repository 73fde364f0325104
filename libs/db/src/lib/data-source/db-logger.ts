import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * The logging this library does, by level. A pino logger fits as is; for Nest's Logger pass
 * `{ debug: (m) => l.debug(m), info: (m) => l.log(m), warn: (m) => l.warn(m), error: (m) => l.error(m) }`.
 * Messages never contain passwords, query parameters or connection URLs with credentials.
 */
export interface DbLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const MAX_QUERY_CHARS = 500;

function shorten(query: string): string {
  const flat = query.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUERY_CHARS ? `${flat.slice(0, MAX_QUERY_CHARS)}…` : flat;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * TypeORM's logger interface over a DbLogger. Query text is logged only for slow or failed queries and never with
 * its parameters (they may be password hashes, secrets or manifest bytes). Failed queries log at debug: the caller
 * gets the error and decides (a unique violation is often expected).
 */
export class TypeOrmDbLogger implements TypeOrmLogger {
  constructor(private readonly logger: DbLogger) {}

  logQuery(): void {
    // Every query is a span in tracing; logging them all here would only add noise.
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.debug(`postgres query failed: ${messageOf(error)} (query: ${shorten(query)})`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`postgres query took ${time} ms: ${shorten(query)}`);
  }

  logSchemaBuild(message: string): void {
    this.logger.info(message);
  }

  logMigration(message: string): void {
    this.logger.info(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(messageOf(message));
    else this.logger.info(messageOf(message));
  }
}
