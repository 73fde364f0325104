// Test support for the outbox and consumer integration specs (not exported from @berth/events): a fresh, migrated
// database per test file on the local stack's Postgres, dropped afterwards.
import { randomUUID } from 'node:crypto';
import {
  createDataSource,
  dropDatabase,
  ensureDatabase,
  parsePostgresUrl,
  runMigrations,
  withDatabase,
} from '@berth/db';
import type { DataSource } from 'typeorm';

/** A stack setting; fails (never skips) when the local stack's settings are missing. */
export function requireStackEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the integration tests through Jest's integration project (its globalSetup starts the ` +
        'local stack) or export the settings of `bash deploy/local/stack.sh env`',
    );
  }
  return value;
}

/** A migrated scratch database and the DataSources opened on it. */
export interface TestDatabase {
  /** Connection URL (contains the password). */
  url: string;
  /** A connected DataSource on it (poolSize 10). */
  dataSource: DataSource;
  /** Opens another connected DataSource on it, as another process would; closed by `drop()`. */
  open(options?: { applicationName?: string; poolSize?: number }): Promise<DataSource>;
  /** Closes every DataSource and drops the database. */
  drop(): Promise<void>;
}

/** Creates `<prefix>_<random>` next to BERTH_DATABASE_URL's database, migrates it, and connects to it. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = requireStackEnv('BERTH_DATABASE_URL');
  const maintenanceDatabase = parsePostgresUrl(adminUrl).database;
  const url = withDatabase(adminUrl, `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`);
  await ensureDatabase(url, { maintenanceDatabase });
  const opened: DataSource[] = [];
  const open = async (options: { applicationName?: string; poolSize?: number } = {}): Promise<DataSource> => {
    const dataSource = createDataSource({ url, ...options });
    await dataSource.initialize();
    opened.push(dataSource);
    return dataSource;
  };
  const dataSource = await open();
  await runMigrations(dataSource);
  return {
    url,
    dataSource,
    open,
    drop: async () => {
      await Promise.allSettled(opened.filter((d) => d.isInitialized).map((d) => d.destroy()));
      await dropDatabase(url, { maintenanceDatabase });
    },
  };
}
