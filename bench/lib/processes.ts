import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

/**
 * Process helpers of the bench. They mirror @berth/testing's (startApp, migratedDatabase, pollUntil) but take
 * the source tree to run as a parameter, so that the bench can measure a committed snapshot (`--ref`) while
 * the working tree is being edited, and they import nothing from the Berth sources themselves.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  /** The last 64 KB it wrote. */
  output(): string;
}

/** `exited with …` when one of `processes` has ended (for pollUntil's `fatal`), else undefined. */
export function exitedAny(processes: readonly RunningProcess[]): string | undefined {
  const gone = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  return gone ? `${gone.name} (pid ${gone.child.pid}) exited with ${gone.child.exitCode ?? gone.child.signalCode}` : undefined;
}

function capture(child: ChildProcess): () => string {
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-64_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

/** The environment that makes `-r ./scripts/register.cjs` resolve @berth/* inside `root` (not in our own tree). */
export function sourceEnv(root: string): Record<string, string> {
  return { SWC_NODE_PROJECT: path.join(root, 'tsconfig.base.json') };
}

/** The `node` options `npm start` of the source tree `root` passes (its start script's words between `node` and `-r`). */
function startFlags(root: string): string[] {
  const start: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(1, words.indexOf('-r'));
}

/** Starts `apps/<app>/src/main.ts` of the source tree `root` as `npm start` does (its V8 flags, swc register), on `port`. */
export function startApp(root: string, app: string, env: Record<string, string>, port: number, nodeArgs: string[] = []): RunningProcess {
  const child = spawn(process.execPath, [...startFlags(root), ...nodeArgs, '-r', './scripts/register.cjs', `apps/${app}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...sourceEnv(root), ...env, BERTH_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { name: app, child, url: `http://127.0.0.1:${port}`, output: capture(child) };
}

/** Starts a binary with only PATH and HOME from our environment plus `env`. */
export function startBinary(name: string, file: string, args: string[], env: Record<string, string>, port: number): RunningProcess {
  const child = spawn(file, args, {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { name, child, url: `http://127.0.0.1:${port}`, output: capture(child) };
}

/** SIGTERM, and SIGKILL when it has not exited within `timeoutMs`. Resolves once it has exited. */
export async function stopProcess(p: RunningProcess, timeoutMs = 30_000): Promise<void> {
  const c = p.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      c.kill('SIGKILL');
      resolve();
    }, timeoutMs);
  });
  await Promise.race([exited, late]);
  if (timer) clearTimeout(timer);
  await exited;
}

/** Polls `probe` until `accept` approves its value; fails after `timeoutMs` with the last value or error. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  {
    timeoutMs = 30_000,
    intervalMs = 250,
    fatal,
  }: { timeoutMs?: number; intervalMs?: number; fatal?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = fatal?.();
    if (reason) throw new Error(`while waiting for ${what}: ${reason}`);
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = value;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A fetch with a hard timeout that resolves for any status: status, Location header. */
export async function probe(url: string, method = 'GET', headers?: Record<string, string>): Promise<{ status: number; location: string | null }> {
  const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return { status: res.status, location: res.headers.get('location') };
}

/**
 * The source tree to run Berth from: the working tree (`ref` undefined), or `git archive <ref>` unpacked under
 * `workDir` with the working tree's node_modules linked in. Returns its root and a description for the report.
 */
export async function sourceTree(ref: string | undefined, workDir: string): Promise<{ root: string; describe: string }> {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  if (ref === undefined) {
    const sha = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'apps', 'libs', 'scripts', 'tsconfig.base.json');
    return { root: REPO_ROOT, describe: `working tree at ${sha}${dirty ? ' with uncommitted changes in apps/, libs/ or scripts/' : ''}` };
  }
  const sha = git('rev-parse', '--verify', `${ref}^{commit}`);
  const root = path.join(workDir, 'berth-src');
  await mkdir(root, { recursive: true });
  execFileSync('bash', ['-c', `git archive ${sha} | tar -x -C "${root}"`], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return { root, describe: `commit ${sha.slice(0, 7)} (\`--ref ${ref}\`: a \`git archive\` snapshot, run with the working tree's node_modules)` };
}

/** `url` with another database name. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(serverUrl: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: withDatabase(serverUrl, 'postgres'), connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A scratch database on the stack's server, migrated with the source tree's own migrate command (as an
 * operator's migrate Job would). `drop` removes it.
 */
export async function migratedDatabase(root: string, serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const drop = (): Promise<void> =>
    admin(serverUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
    });
  try {
    execFileSync(process.execPath, ['-r', './scripts/register.cjs', 'libs/db/src/cli/migrate.ts', 'up'], {
      cwd: root,
      env: { ...process.env, ...sourceEnv(root), BERTH_DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
  } catch (e) {
    await drop().catch(() => undefined);
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`migrate up failed: ${e instanceof Error ? e.message : String(e)}\n${stderr.slice(-2000)}`);
  }
  return { url, drop };
}
