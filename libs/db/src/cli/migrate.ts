// The migrate command: `node -r ./scripts/register.cjs libs/db/src/cli/migrate.ts [up|down|status] [--wait=<s>]`
// (also `npm run migrate -- <command>`). Reads BERTH_DATABASE_URL. Exit codes: 0 done, 1 failed, 2 bad usage.
// Output never contains the database password.
import { createDataSource } from '../lib/data-source/create-data-source';
import { initializeDataSource } from '../lib/data-source/ping-database';
import { parsePostgresUrl, redactUrl } from '../lib/data-source/redact-url.util';
import { migrationStatus, revertLastMigration, runMigrations } from '../lib/migrate/run-migrations';

export type MigrateCommand = 'up' | 'down' | 'status';

export interface MigrateArgs {
  command: MigrateCommand;
  /** How long to keep retrying while Postgres is not reachable yet. */
  waitMs: number;
}

export const USAGE = `usage: migrate [up|down|status] [--wait=<seconds>]
  up       apply every pending migration (default)
  down     revert the most recent migration
  status   list applied and pending migrations
  --wait   keep retrying the connection this long while Postgres starts (default 30)
reads BERTH_DATABASE_URL (postgres://user:password@host:port/database)`;

/** Parses the command line (arguments after the script); throws an Error with a usage message when invalid. */
export function parseMigrateArgs(args: readonly string[]): MigrateArgs {
  let command: MigrateCommand | undefined;
  let waitMs = 30_000;
  for (const arg of args) {
    const wait = /^--wait=(\d+)$/.exec(arg);
    if (wait) waitMs = Number(wait[1]) * 1000;
    else if ((arg === 'up' || arg === 'down' || arg === 'status') && command === undefined) command = arg;
    else throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
  }
  return { command: command ?? 'up', waitMs };
}

export interface MigrateIo {
  out(line: string): void;
  err(line: string): void;
}

/** Runs the command; resolves with the process exit code. */
export async function runMigrateCli(args: readonly string[], env: NodeJS.ProcessEnv, io: MigrateIo): Promise<number> {
  let parsed: MigrateArgs;
  try {
    parsed = parseMigrateArgs(args);
  } catch (error) {
    io.err(`migrate: ${(error as Error).message}`);
    return 2;
  }
  const url = env['BERTH_DATABASE_URL'];
  if (!url) {
    io.err('migrate: BERTH_DATABASE_URL is not set (postgres://user:password@host:port/database)');
    return 2;
  }
  try {
    parsePostgresUrl(url);
  } catch (error) {
    io.err(`migrate: BERTH_DATABASE_URL: ${(error as Error).message}`);
    return 2;
  }

  const target = redactUrl(url);
  const dataSource = createDataSource({ url, applicationName: 'berth-migrate', poolSize: 2 });
  try {
    await initializeDataSource(dataSource, { timeoutMs: parsed.waitMs });
    switch (parsed.command) {
      case 'up': {
        const applied = await runMigrations(dataSource);
        for (const name of applied) io.out(`applied ${name}`);
        io.out(
          applied.length ? `${target}: ${applied.length} migration(s) applied` : `${target}: schema is up to date`,
        );
        break;
      }
      case 'down': {
        const reverted = await revertLastMigration(dataSource);
        io.out(reverted ? `reverted ${reverted}` : `${target}: no migration to revert`);
        break;
      }
      case 'status': {
        const status = await migrationStatus(dataSource);
        for (const name of status.applied) io.out(`applied  ${name}`);
        for (const name of status.pending) io.out(`pending  ${name}`);
        io.out(`${target}: ${status.applied.length} applied, ${status.pending.length} pending`);
        break;
      }
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`migrate ${parsed.command} failed against ${target}: ${message.split(url).join(target)}`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
  }
}

if (require.main === module) {
  void runMigrateCli(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
