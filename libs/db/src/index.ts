// @berth/db: Berth's PostgreSQL data layer. Entities (persistence shapes) and migrations for the core schema, the
// DataSource factory, migrations, health, the Nest module, and the embedded Postgres launcher of the
// single-process mode.
export * from './lib/entities';
export { DB_MIGRATIONS } from './lib/migrations';
export { REPOSITORY_CHANGES_CHANNEL } from './lib/migrations/1795395238261-RepositoryChangeNotify';
export {
  buildDataSourceOptions,
  createDataSource,
  DATA_SOURCE_DEFAULTS,
  MIGRATIONS_TABLE,
  type CreateDataSourceOptions,
} from './lib/data-source/create-data-source';
export type { DbLogger } from './lib/data-source/db-logger';
export {
  DatabaseUnavailableError,
  initializeDataSource,
  PING_TIMEOUT_MS,
  pingDatabase,
} from './lib/data-source/ping-database';
export { dropDatabase, ensureDatabase, type DatabaseAdminOptions } from './lib/data-source/database-admin';
export { parsePostgresUrl, redactUrl, withDatabase, type PostgresUrlParts } from './lib/data-source/redact-url.util';
export { SnakeNamingStrategy } from './lib/data-source/snake-naming.strategy';
export { bigintNumber } from './lib/data-source/bigint-number.transformer';
export { storedBytesQuery } from './lib/data-source/stored-bytes.query';
export {
  migrationStatus,
  revertLastMigration,
  runMigrations,
  type MigrationOptions,
  type MigrationStatus,
} from './lib/migrate/run-migrations';
export { DbModule, type DbModuleOptions } from './lib/nest/db.module';
export { DbHealth } from './lib/nest/db-health';
export { DATA_SOURCE, DB_MODULE_OPTIONS } from './lib/nest/db.tokens';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresInstance,
  type EmbeddedPostgresOptions,
} from './lib/embedded/embedded-postgres.launcher';
export { isDatabaseUnavailable, isWriteConflict, retryOnWriteConflict } from './lib/data-source/unavailable.util';
