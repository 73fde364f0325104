import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createScratchDatabase, type ScratchDatabase } from '../testing/scratch-database';
import { DB_MIGRATIONS } from '../lib/migrations';

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const CORE = new DB_MIGRATIONS[0]().name;
const LATEST = new DB_MIGRATIONS[DB_MIGRATIONS.length - 1]().name;
const ALL = DB_MIGRATIONS.length;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command exactly as operators run it. */
async function migrate(args: string[], databaseUrl: string | undefined): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['BERTH_DATABASE_URL'];
  if (databaseUrl !== undefined) env['BERTH_DATABASE_URL'] = databaseUrl;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['-r', './scripts/register.cjs', 'libs/db/src/cli/migrate.ts', ...args],
      { cwd: REPO_ROOT, env, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('migrate command', () => {
  let db: ScratchDatabase;

  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reports status, applies, is idempotent and reverts', async () => {
    const before = await migrate(['status'], db.url);
    expect(before).toMatchObject({ code: 0, stderr: '' });
    expect(before.stdout).toContain(`pending  ${CORE}`);

    const up = await migrate([], db.url);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`applied ${CORE}`);

    const again = await migrate(['up'], db.url);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('schema is up to date');

    const status = await migrate(['status'], db.url);
    expect(status.stdout).toContain(`applied  ${CORE}`);
    expect(status.stdout).toContain(`${ALL} applied, 0 pending`);

    const down = await migrate(['down'], db.url);
    expect(down).toMatchObject({ code: 0 });
    // `down` reverts the newest migration only.
    expect(down.stdout).toContain(`reverted ${LATEST}`);
    expect((await migrate(['status'], db.url)).stdout).toContain(`${ALL - 1} applied, 1 pending`);

    // The stack's password equals its user name, so look for the credentials part of a URL.
    const credentials = `:${new URL(db.url).password}@`;
    expect(status.stdout).toContain(':***@');
    for (const run of [before, up, again, status, down]) expect(run.stdout).not.toContain(credentials);
  });

  it('fails with a clear message and a non-zero code, never printing the password', async () => {
    const url = new URL(db.url);
    url.password = 'sup3r-secret-wrong';
    const denied = await migrate(['up'], url.toString());
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /migrate up failed against postgres:\/\/[^:]+:\*\*\*@.*password authentication failed/,
    );
    expect(denied.stderr + denied.stdout).not.toContain('sup3r-secret-wrong');

    const missing = await migrate(['status'], undefined);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('BERTH_DATABASE_URL is not set');

    const usage = await migrate(['sideways'], db.url);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: migrate');
  });
});
