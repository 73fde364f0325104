import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { DB_ENTITIES } from '../entities';
import { DB_MIGRATIONS } from '../migrations';
import { type DbLogger, TypeOrmDbLogger } from './db-logger';
import { parsePostgresUrl } from './redact-url.util';
import { SnakeNamingStrategy } from './snake-naming.strategy';

/** The table TypeORM records applied migrations in. */
export const MIGRATIONS_TABLE = 'berth_migrations';

export interface CreateDataSourceOptions {
  /** `postgres://user:password@host:port/database` (query parameters such as `sslmode` are honoured). */
  url: string;
  /** Most connections the pool opens. Default 10. */
  poolSize?: number;
  /** Shown in `pg_stat_activity.application_name`. Default `berth`. */
  applicationName?: string;
  /** Server-side limit per statement (`statement_timeout`); 0 disables it. Default 30 000 ms. */
  statementTimeoutMs?: number;
  /** Limit for opening a connection or waiting for a free one in the pool. Default 2 000 ms. */
  connectTimeoutMs?: number;
  /** Server ends a session idle inside a transaction this long (a leaked transaction). 0 disables. Default 60 000 ms. */
  idleInTransactionTimeoutMs?: number;
  /** Queries slower than this are logged at warn. Default 1 000 ms. */
  slowQueryMs?: number;
  /**
   * A pooled connection idle this long is closed. Default 300 000 ms: a burst of requests (200 layers pushed at
   * once) finds the connections of the previous burst still open instead of reconnecting each one (a PostgreSQL
   * backend start and a SCRAM handshake, both CPU on a small machine). 0 keeps idle connections until shutdown.
   */
  idleTimeoutMs?: number;
  logger?: DbLogger;
}

export const DATA_SOURCE_DEFAULTS = {
  poolSize: 10,
  applicationName: 'berth',
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 2_000,
  idleInTransactionTimeoutMs: 60_000,
  slowQueryMs: 1_000,
  idleTimeoutMs: 300_000,
} as const;

function nonNegativeInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/**
 * The TypeORM options for Berth's schema. Exposed so that tools (and runMigrations) can derive variants; most
 * code wants createDataSource.
 */
export function buildDataSourceOptions(opts: CreateDataSourceOptions): PostgresConnectionOptions {
  parsePostgresUrl(opts.url); // fail early, and without echoing the password, on a malformed URL
  const poolSize = nonNegativeInt('poolSize', opts.poolSize ?? DATA_SOURCE_DEFAULTS.poolSize);
  if (poolSize < 1) throw new Error('poolSize must be at least 1');
  const statementTimeoutMs = nonNegativeInt(
    'statementTimeoutMs',
    opts.statementTimeoutMs ?? DATA_SOURCE_DEFAULTS.statementTimeoutMs,
  );
  const connectTimeoutMs = nonNegativeInt(
    'connectTimeoutMs',
    opts.connectTimeoutMs ?? DATA_SOURCE_DEFAULTS.connectTimeoutMs,
  );
  const idleInTransactionTimeoutMs = nonNegativeInt(
    'idleInTransactionTimeoutMs',
    opts.idleInTransactionTimeoutMs ?? DATA_SOURCE_DEFAULTS.idleInTransactionTimeoutMs,
  );
  const slowQueryMs = nonNegativeInt('slowQueryMs', opts.slowQueryMs ?? DATA_SOURCE_DEFAULTS.slowQueryMs);
  const idleTimeoutMs = nonNegativeInt('idleTimeoutMs', opts.idleTimeoutMs ?? DATA_SOURCE_DEFAULTS.idleTimeoutMs);

  return {
    type: 'postgres',
    url: opts.url,
    applicationName: opts.applicationName ?? DATA_SOURCE_DEFAULTS.applicationName,
    poolSize,
    // pg's connectionTimeoutMillis: bounds both opening a connection and waiting for a pooled one, so a request
    // fails fast (and /readyz answers) when Postgres is down instead of queueing behind dead sockets.
    connectTimeoutMS: connectTimeoutMs,
    extra: {
      // Sent as startup parameters: every session of the pool carries them, including reconnected ones.
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
      ...(idleInTransactionTimeoutMs > 0 ? { idle_in_transaction_session_timeout: idleInTransactionTimeoutMs } : {}),
      // TCP keep-alive notices a peer that vanished without closing (host down, network cut), so a connection
      // stuck on it is eventually dropped from the pool. (Pings never wait for that: they are bounded themselves.)
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // pg-pool: 0 disables closing idle connections.
      idleTimeoutMillis: idleTimeoutMs,
    },
    entities: DB_ENTITIES,
    migrations: DB_MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'all',
    migrationsRun: false,
    synchronize: false,
    namingStrategy: new SnakeNamingStrategy(),
    // gen_random_uuid() is built into PostgreSQL 13+; never CREATE EXTENSION at connect time.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    ...(opts.logger
      ? {
          logger: new TypeOrmDbLogger(opts.logger),
          logging: ['error', 'warn', 'info', 'log', 'schema', 'migration'] as const,
          maxQueryExecutionTime: slowQueryMs,
        }
      : { logging: false }),
  };
}

/**
 * A DataSource for Berth's schema, not yet connected (call `initialize()`, or let DbModule do it). Migrations never
 * run implicitly: use runMigrations. The pool reconnects by itself when Postgres comes back after an outage:
 * connections that broke are dropped from the pool and new ones are opened on demand.
 */
export function createDataSource(opts: CreateDataSourceOptions): DataSource {
  return new DataSource(buildDataSourceOptions(opts));
}
