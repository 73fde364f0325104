import { parseMigrateArgs, runMigrateCli } from './migrate';

describe('parseMigrateArgs', () => {
  it('should default to up with a 30 s wait', () => {
    expect(parseMigrateArgs([])).toEqual({ command: 'up', waitMs: 30_000 });
  });

  it('should read the command and --wait', () => {
    expect(parseMigrateArgs(['down'])).toEqual({ command: 'down', waitMs: 30_000 });
    expect(parseMigrateArgs(['status', '--wait=5'])).toEqual({ command: 'status', waitMs: 5_000 });
  });

  it('should reject unknown or repeated commands with the usage', () => {
    expect(() => parseMigrateArgs(['sideways'])).toThrow(/unexpected argument "sideways"[\s\S]*usage: migrate/);
    expect(() => parseMigrateArgs(['up', 'down'])).toThrow(/unexpected argument "down"/);
    expect(() => parseMigrateArgs(['--wait=soon'])).toThrow(/unexpected argument/);
  });
});

describe('runMigrateCli', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  }

  it('should exit 2 when BERTH_DATABASE_URL is missing', async () => {
    const run = io();
    expect(await runMigrateCli(['status'], {}, run.io)).toBe(2);
    expect(run.err.join('\n')).toContain('BERTH_DATABASE_URL is not set');
  });

  it('should exit 2 on a malformed URL without printing it', async () => {
    const run = io();
    expect(await runMigrateCli([], { BERTH_DATABASE_URL: 'mysql://root:hunter2@db/x' }, run.io)).toBe(2);
    expect(run.err.join('\n')).toMatch(/scheme must be postgres/);
    expect(run.err.join('\n')).not.toContain('hunter2');
  });

  it('should exit 2 on bad usage', async () => {
    const run = io();
    expect(await runMigrateCli(['--nope'], { BERTH_DATABASE_URL: 'postgres://u:p@h/d' }, run.io)).toBe(2);
    expect(run.out).toEqual([]);
  });
});
