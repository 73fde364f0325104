import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { MIGRATIONS_TABLE } from '../data-source/create-data-source';

/** pg_advisory_lock key serialising migrations across processes ("berthmig" as 8 bytes). */
export const MIGRATION_LOCK_KEY = '7090199032658487655';

/** How long a migrator waits for another one to finish by default. */
export const MIGRATION_LOCK_TIMEOUT_MS = 300_000;

export interface MigrationOptions {
  /** How long to wait while another process holds the migration lock. Default 5 minutes. */
  lockTimeoutMs?: number;
}

export interface MigrationStatus {
  /** Applied migrations, oldest first. */
  applied: string[];
  /** Known but not applied yet, oldest first. */
  pending: string[];
}

/**
 * Runs `work` on a short-lived DataSource derived from `dataSource`'s options: two connections, no statement
 * timeout (a migration may rightly take longer than a request), holding a session advisory lock so that services
 * starting together never run migrations concurrently (TypeORM itself does not lock). `dataSource` itself need not
 * be initialised and is left untouched.
 */
async function withMigrationLock<T>(
  dataSource: DataSource,
  opts: MigrationOptions,
  work: (migrator: DataSource) => Promise<T>,
): Promise<T> {
  if (dataSource.options.type !== 'postgres') throw new Error('Berth migrations need a postgres data source');
  const base: PostgresConnectionOptions = dataSource.options;
  const { statement_timeout: _ignored, ...extra } = (base.extra ?? {}) as Record<string, unknown>;
  const migrator = new DataSource({
    ...base,
    poolSize: 2,
    applicationName: `${base.applicationName ?? 'berth'}-migrations`,
    extra,
  });
  await migrator.initialize();
  const lockRunner = migrator.createQueryRunner();
  try {
    await lockRunner.connect();
    const lockTimeoutMs = opts.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS;
    await lockRunner.query(`SET lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`);
    try {
      await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') {
        throw new Error(`another process has been running migrations for more than ${lockTimeoutMs} ms`, {
          cause: error,
        });
      }
      throw error;
    }
    try {
      return await work(migrator);
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await lockRunner.release().catch(() => undefined);
    await migrator.destroy().catch(() => undefined);
  }
}

/**
 * Applies every pending migration, all in one transaction (all or nothing), and resolves with their names (empty
 * when the schema is current: running it again is a no-op). Serialised across processes by an advisory lock.
 */
export async function runMigrations(dataSource: DataSource, opts: MigrationOptions = {}): Promise<string[]> {
  return withMigrationLock(dataSource, opts, async (migrator) => {
    const applied = await migrator.runMigrations({ transaction: 'all' });
    return applied.map((m) => m.name);
  });
}

/** Reverts the most recently applied migration; resolves with its name, or undefined when none is applied. */
export async function revertLastMigration(
  dataSource: DataSource,
  opts: MigrationOptions = {},
): Promise<string | undefined> {
  return withMigrationLock(dataSource, opts, async (migrator) => {
    const { applied } = await readStatus(migrator);
    const last = applied[applied.length - 1];
    if (!last) return undefined;
    await migrator.undoLastMigration({ transaction: 'all' });
    return last;
  });
}

/** Which known migrations are applied and which are pending. Reads only; takes no lock. */
export async function migrationStatus(dataSource: DataSource): Promise<MigrationStatus> {
  if (dataSource.isInitialized) return readStatus(dataSource);
  const reader = new DataSource({ ...dataSource.options, poolSize: 1 } as PostgresConnectionOptions);
  await reader.initialize();
  try {
    return await readStatus(reader);
  } finally {
    await reader.destroy();
  }
}

async function readStatus(dataSource: DataSource): Promise<MigrationStatus> {
  const [{ exists }] = (await dataSource.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [MIGRATIONS_TABLE])) as [
    { exists: boolean },
  ];
  const rows = exists
    ? ((await dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp, id`)) as { name: string }[])
    : [];
  const applied = rows.map((r) => r.name);
  const done = new Set(applied);
  const pending = dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !done.has(n));
  return { applied, pending };
}
