import { Client } from 'pg';
import { parsePostgresUrl, withDatabase } from './redact-url.util';

export interface DatabaseAdminOptions {
  /** The database to connect to for CREATE/DROP DATABASE. Default `postgres`. */
  maintenanceDatabase?: string;
  /** Default 5 000 ms. */
  connectTimeoutMs?: number;
}

async function withMaintenanceClient<T>(
  url: string,
  opts: DatabaseAdminOptions,
  work: (client: Client, database: string) => Promise<T>,
): Promise<T> {
  const { database } = parsePostgresUrl(url);
  const client = new Client({
    connectionString: withDatabase(url, opts.maintenanceDatabase ?? 'postgres'),
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    application_name: 'berth-db-admin',
  });
  // A connection dropped while idle emits 'error'; the awaited calls below report failures themselves.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client, database);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the database named in `url` if it does not exist (same server and credentials, connecting to the
 * maintenance database). Resolves true when it created it. Safe to call concurrently: a lost race is not an error.
 */
export async function ensureDatabase(url: string, opts: DatabaseAdminOptions = {}): Promise<boolean> {
  return withMaintenanceClient(url, opts, async (client, database) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      return true;
    } catch (error) {
      // 42P04 duplicate_database; 23505 when two CREATE DATABASE race on pg_database's unique index.
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw error;
    }
  });
}

/**
 * Drops the database named in `url` if it exists, ending its open sessions (PostgreSQL 13+ `WITH (FORCE)`).
 * Meant for tests and tooling; services never drop databases.
 */
export async function dropDatabase(url: string, opts: DatabaseAdminOptions = {}): Promise<void> {
  await withMaintenanceClient(url, opts, async (client, database) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
  });
}
