import type { DataSource } from 'typeorm';

/** The part of node-postgres' Pool (TypeORM's PostgresDriver keeps it as `master`) that a prepared query needs. */
interface PgPool {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one read of a hot path as a named prepared statement on the data source's pool: PostgreSQL parses and plans
 * it once per connection instead of on every request, and the query skips TypeORM's per-query runner. `name` must be
 * unique per `text` in the process. Falls back to `ds.query` when the driver has no pg pool (never in Berth today).
 * Rows are what node-postgres returns, as with `ds.query`.
 */
export async function preparedQuery<T>(ds: DataSource, name: string, text: string, values: readonly unknown[]): Promise<T[]> {
  const pool = (ds.driver as unknown as { master?: PgPool }).master;
  if (!pool || typeof pool.query !== 'function') return (await ds.query(text, [...values])) as T[];
  return (await pool.query({ name, text, values })).rows as T[];
}
