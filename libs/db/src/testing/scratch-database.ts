// Test support for libs/db's integration tests (not exported from @berth/db): a uniquely named database per test
// file on the local stack's Postgres, dropped afterwards.
import { randomUUID } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '../lib/data-source/database-admin';
import { parsePostgresUrl, withDatabase } from '../lib/data-source/redact-url.util';

/** A stack setting; fails (never skips) when the local stack's settings are missing. */
export function requireStackEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: integration tests run against the local stack (see \`bash deploy/local/stack.sh env\`; ` +
        `Jest's integration project sets it up)`,
    );
  }
  return value;
}

export interface ScratchDatabase {
  /** Connection URL of the new, empty database (contains the password). */
  url: string;
  name: string;
  /** Drops it, ending any session still open. */
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<uuid>` next to BERTH_DATABASE_URL's (from which it connects). */
export async function createScratchDatabase(prefix = 'berth_db_test'): Promise<ScratchDatabase> {
  const adminUrl = requireStackEnv('BERTH_DATABASE_URL');
  const maintenanceDatabase = parsePostgresUrl(adminUrl).database;
  const name = `${prefix}_${randomUUID().replace(/-/g, '')}`.slice(0, 63);
  const url = withDatabase(adminUrl, name);
  await ensureDatabase(url, { maintenanceDatabase });
  return { url, name, drop: () => dropDatabase(url, { maintenanceDatabase }) };
}
