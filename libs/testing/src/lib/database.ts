import { dropDatabase, ensureDatabase, withDatabase } from '@berth/db';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { REPO_ROOT } from './processes';

/**
 * A fresh database on the given server, migrated with the real migrate command (as an operator's migrate
 * Job would), for tests that start services as processes. Drop it with the returned function.
 */
export async function migratedDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const url = withDatabase(serverUrl, `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`);
  await ensureDatabase(url);
  execFileSync(process.execPath, ['-r', './scripts/register.cjs', 'libs/db/src/cli/migrate.ts', 'up'], {
    cwd: REPO_ROOT,
    env: { ...process.env, BERTH_DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { url, drop: () => dropDatabase(url) };
}
