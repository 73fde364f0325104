import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { eventually, waitUntil } from '../../testing/polling';
import { closedPort } from '../../testing/tcp-proxy';
import { createDataSource } from '../data-source/create-data-source';
import { pingDatabase } from '../data-source/ping-database';
import { TenantEntity } from '../entities';
import { DB_MIGRATIONS } from '../migrations';
import { migrationStatus, runMigrations } from '../migrate/run-migrations';
import { type EmbeddedPostgresInstance, startEmbeddedPostgres, unixSocketDirFor } from './embedded-postgres.launcher';
import { parsePostmasterPid } from './postmaster-pid.util';

const REPO_ROOT = path.resolve(__dirname, '../../../../..');
const CHILD = path.join(REPO_ROOT, 'libs/db/src/testing/embedded-postgres-child.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  const info = parsePostmasterPid(await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8'));
  if (!info) throw new Error('no postmaster.pid');
  return info.pid;
}

/** Resolves with the rest of the first stdout line starting with `prefix`; rejects on FAILED, exit or timeout. */
function lineFrom(child: ChildProcess, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => done(new Error(`no "${prefix}" line within ${timeoutMs} ms: ${buffered}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (line.startsWith(`${prefix} `) || line === prefix) return done(undefined, line.slice(prefix.length).trim());
        if (line.startsWith('FAILED')) return done(new Error(line));
      }
    };
    const onExit = (code: number | null): void =>
      done(new Error(`child exited (${code}) before "${prefix}": ${buffered}`));
    function done(error: Error | undefined, value?: string): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value ?? '');
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function startChild(options: object, ids?: { uid: number; gid: number }): ChildProcess {
  return spawn(process.execPath, ['-r', './scripts/register.cjs', CHILD, JSON.stringify(options)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, HOME: tmpdir() },
    ...(ids ?? {}),
  });
}

describe('startEmbeddedPostgres', () => {
  let base: string;
  const running: EmbeddedPostgresInstance[] = [];
  const sources: DataSource[] = [];

  async function start(dataDir: string, port: number): Promise<EmbeddedPostgresInstance> {
    const instance = await startEmbeddedPostgres({ dataDir, port, startTimeoutMs: 60_000 });
    running.push(instance);
    return instance;
  }

  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'berth-embedded-pg-'));
    // As root the server runs as the OS user "postgres", which must be able to enter the folder.
    await chmod(base, 0o755);
  });
  afterAll(async () => {
    await Promise.all(sources.map((s) => (s.isInitialized ? s.destroy() : undefined)));
    await Promise.all(running.map((r) => r.stop()));
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('initialises a new folder, keeps the data across stop and start, and the same pool reconnects', async () => {
    const dataDir = path.join(base, 'keeps', 'postgres');
    const port = await closedPort();
    const first = await start(dataDir, port);
    expect(first.url).toMatch(
      new RegExp(`^postgres://berth:[^@]{20,}@127\\.0\\.0\\.1:${port}/berth\\?host=${encodeURIComponent(dataDir)}$`),
    );

    const ds = createDataSource({ url: first.url });
    sources.push(ds);
    expect(await runMigrations(ds)).toHaveLength(DB_MIGRATIONS.length);
    await ds.initialize();
    const tenant = await ds.getRepository(TenantEntity).save({ displayName: 'survives restarts' });
    await pingDatabase(ds);

    await first.stop();
    await first.stop(); // idempotent
    const before = Date.now();
    await expect(pingDatabase(ds)).rejects.toThrow(/postgres/);
    expect(Date.now() - before).toBeLessThan(2_500);

    const second = await start(dataDir, port);
    expect(second.url).toBe(first.url); // the generated password was kept
    await eventually(() => pingDatabase(ds), 10_000);
    expect(await ds.getRepository(TenantEntity).findOneBy({ id: tenant.id })).toMatchObject({
      displayName: 'survives restarts',
    });
    expect((await migrationStatus(ds)).pending).toEqual([]);
    await ds.destroy();
    await second.stop();
  });

  it('is reached over a Unix socket in its data folder, and over TCP where the socket path would be too long', async () => {
    const dataDir = path.join(base, 'socket', 'postgres');
    const port = await closedPort();
    const pg = await start(dataDir, port);
    const ds = createDataSource({ url: pg.url });
    sources.push(ds);
    await ds.initialize();
    // inet_client_addr() is NULL for a Unix-socket session; the socket file is where the URL says.
    const [viaSocket] = (await ds.query(`SELECT inet_client_addr() AS addr, current_setting('unix_socket_directories') AS dirs`)) as [
      { addr: string | null; dirs: string },
    ];
    expect(viaSocket).toEqual({ addr: null, dirs: dataDir });
    expect((await stat(path.join(dataDir, `.s.PGSQL.${port}`))).isSocket()).toBe(true);
    // The TCP listener is still there for tools that only read the URL's host and port.
    const tcp = createDataSource({ url: pg.url.replace(/\?host=.*$/, '') });
    sources.push(tcp);
    await tcp.initialize();
    const [viaTcp] = (await tcp.query(`SELECT host(inet_client_addr()) AS addr`)) as [{ addr: string }];
    expect(viaTcp.addr).toBe('127.0.0.1');
    await Promise.all([ds.destroy(), tcp.destroy()]);
    await pg.stop();
    // A socket lock file a killed server of another port left behind is cleared at start.
    await writeFile(path.join(dataDir, '.s.PGSQL.1.lock'), '1\n');
    const again = await start(dataDir, port);
    await expect(stat(path.join(dataDir, '.s.PGSQL.1.lock'))).rejects.toThrow(/ENOENT/);
    await again.stop();

    // A data folder whose socket path exceeds 107 bytes: TCP only, and the URL says so.
    const deep = path.join(base, 'x'.repeat(100 - base.length), 'postgres');
    expect(unixSocketDirFor(deep, port)).toBeUndefined();
    const tcpOnly = await start(deep, port);
    expect(tcpOnly.url).toMatch(new RegExp(`@127\\.0\\.0\\.1:${port}/berth$`));
    const plain = createDataSource({ url: tcpOnly.url });
    sources.push(plain);
    await plain.initialize();
    const [{ dirs }] = (await plain.query(`SELECT current_setting('unix_socket_directories') AS dirs`)) as [{ dirs: string }];
    expect(dirs).toBe('');
    await plain.destroy();
    await tcpOnly.stop();
  });

  it('recovers after a crash: a killed server, then a postmaster.pid whose pid another process now has', async () => {
    const dataDir = path.join(base, 'crash', 'postgres');
    const port = await closedPort();
    const first = await start(dataDir, port);
    const ds = createDataSource({ url: first.url });
    sources.push(ds);
    await runMigrations(ds);
    await ds.initialize();
    const tenant = await ds.getRepository(TenantEntity).save({ displayName: 'committed before the crash' });
    await ds.destroy();

    const pid = await postmasterPid(dataDir);
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !alive(pid), 10_000, `postgres ${pid} is gone`);

    const second = await start(dataDir, port);
    const again = createDataSource({ url: second.url });
    sources.push(again);
    await again.initialize();
    expect(await again.getRepository(TenantEntity).findOneBy({ id: tenant.id })).not.toBeNull();
    await again.destroy();
    await second.stop();

    // A container restart reuses pids: the stale file names a live process that is not this server.
    await writeFile(
      path.join(dataDir, 'postmaster.pid'),
      `${process.pid}\n${dataDir}\n0\n${port}\n\n127.0.0.1\n0 0\nready\n`,
    );
    const third = await start(dataDir, port);
    await third.stop();
  });

  it('stops a server orphaned by a killed Berth process and takes the folder over', async () => {
    const dataDir = path.join(base, 'orphan', 'postgres');
    const port = await closedPort();
    const child = startChild({ dataDir, port });
    await lineFrom(child, 'READY', 60_000);
    const orphan = await postmasterPid(dataDir);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(alive(orphan)).toBe(true); // the server outlived its parent

    const taken = await start(dataDir, port);
    expect(alive(orphan)).toBe(false);
    expect(await postmasterPid(dataDir)).not.toBe(orphan);
    await taken.stop();
  });

  it('refuses to start on a folder that another live Berth process is using', async () => {
    const dataDir = path.join(base, 'busy', 'postgres');
    const port = await closedPort();
    const child = startChild({ dataDir, port });
    try {
      await lineFrom(child, 'READY', 60_000);
      await expect(startEmbeddedPostgres({ dataDir, port: await closedPort() })).rejects.toThrow(
        /already running .*another Berth process uses this data folder/,
      );
    } finally {
      const stopped = lineFrom(child, 'STOPPED', 30_000);
      child.stdin?.end();
      await stopped;
    }
  });

  it('runs as a non-root user', async () => {
    const dataDir = path.join(base, 'unprivileged', 'postgres');
    const port = await closedPort();
    if (process.getuid?.() !== 0) {
      // The whole suite already runs unprivileged; start once more to say so explicitly.
      await (await start(dataDir, port)).stop();
      return;
    }
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
    await mkdir(path.dirname(dataDir), { recursive: true });
    await chown(path.dirname(dataDir), uid, gid);
    const child = startChild({ dataDir, port }, { uid, gid });
    try {
      const url = await lineFrom(child, 'READY', 60_000);
      const ds = createDataSource({ url });
      sources.push(ds);
      await ds.initialize();
      const [{ owner }] = (await ds.query(
        `SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'berth'`,
      )) as [{ owner: string }];
      expect(owner).toBe('berth');
      await ds.destroy();
      const serverUid = execFileSync('stat', ['-c', '%u', dataDir], { encoding: 'utf8' }).trim();
      expect(Number(serverUid)).toBe(uid);
    } finally {
      const stopped = lineFrom(child, 'STOPPED', 30_000);
      child.stdin?.end();
      await stopped;
    }
  });

  it('refuses a folder that is neither empty nor a data folder, and explains a port already in use', async () => {
    const notData = path.join(base, 'not-data');
    await mkdir(notData, { recursive: true });
    await writeFile(path.join(notData, 'notes.txt'), 'hello');
    await expect(startEmbeddedPostgres({ dataDir: notData, port: await closedPort() })).rejects.toThrow(
      /neither empty nor a PostgreSQL data folder/,
    );

    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(startEmbeddedPostgres({ dataDir: path.join(base, 'port', 'postgres'), port })).rejects.toThrow(
        new RegExp(`port ${port} is already in use`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
