import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BearerAuth } from './auth';
import { exitedAny, freePort, migratedDatabase, pollUntil, probe, startApp, startBinary, stopProcess, type RunningProcess } from './processes';

export type TargetId = 'berth-fs' | 'distribution-fs' | 'berth-s3' | 'distribution-s3';

/** A registry under test on 127.0.0.1, plain HTTP, its default (bare-host) registry open for push and pull. */
export interface Target {
  readonly id: TargetId;
  readonly registry: 'berth' | 'distribution';
  readonly storage: 'fs' | 's3';
  /** Pushes and pulls go here (S3: this instance redirects blob GETs to presigned MinIO URLs). */
  readonly url: string;
  /** S3 only: an instance of the same installation (same database/bucket) that streams blob GETs itself. */
  readonly proxyUrl?: string;
  /** The process at `url`, whose memory and CPU are measured. */
  readonly pid: number;
  /** How it runs, for the report. */
  readonly setup: string;
  /** Berth: the client's credentials (Basic for the token realm, then Bearer tokens). Distribution runs without auth. */
  readonly auth?: BearerAuth;
  logs(): string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** The Berth source tree to run (the working tree, or a snapshot of a commit). */
  readonly root: string;
  /** Scratch directory of this run (data folders, configs). */
  readonly workDir: string;
  /** BERTH_LOG_LEVEL of the measured Berth processes. */
  readonly berthLogLevel: string;
  /** Extra node arguments for the measured Berth processes (e.g. --cpu-prof). */
  readonly berthNodeArgs?: string[];
}

const READY_TIMEOUT_MS = 180_000;

/** Waits until GET /v2/ answers 200 (or, with `authenticated`, 401: the challenge a docker client starts from). */
async function waitForV2(url: string, processes: readonly RunningProcess[], logs: () => string, authenticated = false, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const fatal = (): string | undefined => exitedAny(processes);
  const ready = authenticated ? 401 : 200;
  await pollUntil(`${url}/v2/`, () => probe(`${url}/v2/`), (r) => r.status === ready, { timeoutMs, intervalMs: 300, fatal }).catch((e: Error) => {
    throw new Error(`${e.message}\n${logs().slice(-3000)}`);
  });
}

/**
 * Waits until the default registry accepts an upload (POST → 202), then cancels that upload: in distributed
 * Berth the default registry exists only once metadata-service's bootstrap has run.
 */
async function waitForPushable(url: string, auth: BearerAuth, processes: readonly RunningProcess[], logs: () => string): Promise<void> {
  const repo = 'bench/ready';
  const res = await pollUntil(
    `${url} accepting uploads`,
    async () => probe(`${url}/v2/${repo}/blobs/uploads/`, 'POST', { Authorization: await auth.headerFor(repo) }),
    (r) => r.status === 202,
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 500, fatal: () => exitedAny(processes) },
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${logs().slice(-3000)}`);
  });
  if (res.location) await probe(new URL(res.location, url).toString(), 'DELETE', { Authorization: await auth.headerFor(repo) }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------------
// CNCF Distribution

function spawnDistribution(binary: string, config: string, port: number): RunningProcess {
  // Only PATH and HOME: no REGISTRY_* of the caller leaks into the configuration. Distribution v3 always
  // traces (100 % sampling); OTEL_TRACES_EXPORTER=none spares it exporting to an OTLP collector that is not
  // there (its default, localhost:4318), which would only cost it retries.
  return startBinary('distribution', binary, ['serve', config], { OTEL_TRACES_EXPORTER: 'none' }, port);
}

function distributionYaml(port: number, storage: string, redirectDisabled: boolean): string {
  return [
    '# Written by bench/run.ts',
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    storage,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    ...(redirectDisabled ? ['  redirect:', '    disable: true'] : []),
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Distribution v3 on the filesystem (deploy/tools/distribution.yml's settings, its own root directory). */
export async function startDistributionFs(binary: string, opts: TargetOptions): Promise<Target> {
  const dir = path.join(opts.workDir, 'distribution-fs');
  await mkdir(path.join(dir, 'root'), { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  await writeFile(config, distributionYaml(port, `  filesystem:\n    rootdirectory: ${path.join(dir, 'root')}`, false));
  const c = spawnDistribution(binary, config, port);
  const target: Target = {
    id: 'distribution-fs',
    registry: 'distribution',
    storage: 'fs',
    url: c.url,
    pid: c.child.pid ?? -1,
    setup: 'one `registry serve` process, filesystem driver, in-memory blob descriptor cache, access log off',
    logs: () => c.output(),
    stop: async () => {
      await stopProcess(c);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await waitForV2(c.url, [c], () => c.output()).catch(async (e: unknown) => {
    await target.stop();
    throw e;
  });
  return target;
}

/**
 * Distribution v3 on S3 (the stack's MinIO, bucket `bucket`, which must exist): one instance with the default
 * redirect of blob GETs to presigned URLs, one with `storage.redirect.disable: true` on the same bucket.
 */
export async function startDistributionS3(binary: string, opts: TargetOptions, settings: Record<string, string>, bucket: string): Promise<Target> {
  const dir = path.join(opts.workDir, 'distribution-s3');
  await mkdir(dir, { recursive: true });
  const s3 = [
    '  s3:',
    `    accesskey: ${settings['BERTH_S3_ACCESS_KEY']}`,
    `    secretkey: ${settings['BERTH_S3_SECRET_KEY']}`,
    `    region: ${settings['BERTH_S3_REGION'] ?? 'us-east-1'}`,
    `    regionendpoint: ${settings['BERTH_S3_ENDPOINT']}`,
    '    forcepathstyle: true',
    '    secure: false',
    '    v4auth: true',
    `    bucket: ${bucket}`,
    '    rootdirectory: /',
  ].join('\n');
  const children: RunningProcess[] = [];
  const logs = (): string => children.map((c, i) => `--- distribution-s3 #${i} ---\n${c.output()}`).join('\n');
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopProcess(c)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const [name, disabled] of [['redirect', false], ['proxy', true]] as const) {
      const port = await freePort();
      const config = path.join(dir, `${name}.yml`);
      await writeFile(config, distributionYaml(port, s3, disabled), { mode: 0o600 });
      children.push(spawnDistribution(binary, config, port));
    }
    for (const c of children) await waitForV2(c.url, children, logs);
  } catch (e) {
    await stop();
    throw e;
  }
  const [main, proxy] = children as [RunningProcess, RunningProcess];
  return {
    id: 'distribution-s3',
    registry: 'distribution',
    storage: 's3',
    url: main.url,
    proxyUrl: proxy.url,
    pid: main.child.pid ?? -1,
    setup: `two \`registry serve\` processes on bucket \`${bucket}\` (s3 driver, regionendpoint ${settings['BERTH_S3_ENDPOINT']}, forcepathstyle, default 10 MiB chunksize): one redirecting blob GETs (default), one with \`storage.redirect.disable: true\``,
    logs,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Berth

/** The operator principal Berth creates at start; the bench logs in with it (Basic at the token realm). */
function bootstrapCreds(): Record<string, string> {
  return { BERTH_BOOTSTRAP_CLIENT_ID: randomUUID(), BERTH_BOOTSTRAP_CLIENT_SECRET: randomBytes(24).toString('base64url') };
}

/**
 * ACR's per-minute request limits (e.g. 10 000 reads per registry and minute) would answer a closed-loop load with
 * 429 long before the server is saturated: raised for every SKU, so the bench measures the server, not the throttle.
 * Every request is still counted (the counting is part of what is measured); Distribution has no such limits.
 */
const UNTHROTTLED = JSON.stringify(
  Object.fromEntries(
    ['Basic', 'Standard', 'Premium'].map((sku) => [
      sku,
      { throttle: Object.fromEntries(['read', 'write', 'delete', 'listReferrers'].map((c) => [c, { perRegistry: 100_000_000, perIdentity: 100_000_000 }])) },
    ]),
  ),
);

function authFor(url: string, creds: Record<string, string>): BearerAuth {
  return new BearerAuth(url, { username: creds['BERTH_BOOTSTRAP_CLIENT_ID'] ?? '', password: creds['BERTH_BOOTSTRAP_CLIENT_SECRET'] ?? '' });
}

function processLogs(processes: RunningProcess[]): string {
  return processes.map((p) => `--- ${p.name} (pid ${p.child.pid}) ---\n${p.output().slice(-4000)}`).join('\n');
}

function measuredEnv(opts: TargetOptions): Record<string, string> {
  return { BERTH_LOG_LEVEL: opts.berthLogLevel };
}

/** The embedded default (`npm start`): one process, embedded Postgres, filesystem blobs in a scratch data dir. */
export async function startBerthFs(opts: TargetOptions): Promise<Target> {
  const dataDir = path.join(opts.workDir, 'berth-fs');
  await mkdir(dataDir, { recursive: true });
  // The embedded Postgres runs as `postgres` when we are root: it must be able to traverse the folder.
  await chmod(dataDir, 0o711);
  await chmod(opts.workDir, 0o711);
  const creds = bootstrapCreds();
  const proc = startApp(
    opts.root,
    'berth',
    {
      ...creds,
      ...measuredEnv(opts),
      BERTH_DATA_DIR: dataDir,
      // Empty: a stack URL in the caller's environment must not turn the embedded default into a client of it.
      BERTH_DATABASE_URL: '',
      BERTH_BLOB_DRIVER: 'fs',
      BERTH_BUS: 'inprocess',
      BERTH_CACHE: 'memory',
      BERTH_DATABASE_MIGRATE: 'true',
      BERTH_TLS: 'off',
      BERTH_TIER_OVERRIDES: UNTHROTTLED,
    },
    await freePort(),
    opts.berthNodeArgs,
  );
  const auth = authFor(proc.url, creds);
  const stop = async (): Promise<void> => {
    auth.close();
    await stopProcess(proc, 60_000);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForV2(proc.url, [proc], () => processLogs([proc]), true);
    await waitForPushable(proc.url, auth, [proc], () => processLogs([proc]));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    id: 'berth-fs',
    registry: 'berth',
    storage: 'fs',
    url: proc.url,
    pid: proc.child.pid ?? -1,
    setup: `the embedded default (\`apps/berth\`, one Node process: embedded PostgreSQL, filesystem blobs, in-process bus, in-memory cache; token endpoint in the same process), BERTH_LOG_LEVEL=${opts.berthLogLevel}, request-rate limits raised (BERTH_TIER_OVERRIDES)`,
    auth,
    logs: () => processLogs([proc]),
    stop,
  };
}

/**
 * Distributed Berth on the stack: a scratch database migrated with the migrate command, `metadata-service`
 * (its bootstrap creates the default registry) and two `registry-frontend` processes on the same database and
 * buckets (`<bucketPrefix><region>`): one with BERTH_BLOB_PULL=redirect (measured), one with proxy.
 */
export async function startBerthS3(opts: TargetOptions, settings: Record<string, string>, bucketPrefix: string): Promise<Target> {
  const db = await migratedDatabase(opts.root, settings['BERTH_DATABASE_URL'] ?? '');
  const dataDir = path.join(opts.workDir, 'berth-s3');
  await mkdir(dataDir, { recursive: true });
  const creds = bootstrapCreds();
  // One issuer for the installation: token-service signs with BERTH_PUBLIC_URL, the frontends verify against it.
  const frontendPort = await freePort();
  const tokenPort = await freePort();
  const env: Record<string, string> = {
    ...settings,
    ...creds,
    BERTH_PUBLIC_URL: `http://127.0.0.1:${frontendPort}`,
    BERTH_TOKEN_SERVICE_URL: `http://127.0.0.1:${tokenPort}`,
    // Distributed processes require a master key, the same for all of them.
    BERTH_MASTER_KEY: randomBytes(32).toString('base64'),
    BERTH_DATABASE_URL: db.url,
    BERTH_DATABASE_MIGRATE: 'false',
    BERTH_DATA_DIR: dataDir,
    BERTH_BLOB_DRIVER: 's3',
    BERTH_S3_BUCKET_PREFIX: bucketPrefix,
    BERTH_BUS: 'kafka',
    BERTH_CACHE: 'redis',
    // Its own Redis keys: the default registry's id is stable, so counters would otherwise be shared with tests.
    BERTH_REDIS_NAMESPACE: bucketPrefix.replace(/[^a-zA-Z0-9_-]/g, '').slice(0, 64),
    BERTH_TLS: 'off',
    BERTH_HOST: '127.0.0.1',
    BERTH_TIER_OVERRIDES: UNTHROTTLED,
  };
  const processes: RunningProcess[] = [];
  const logs = (): string => processLogs(processes);
  const auth = authFor(`http://127.0.0.1:${frontendPort}`, creds);
  const stop = async (): Promise<void> => {
    auth.close();
    await Promise.allSettled(processes.map((p) => stopProcess(p, 60_000)));
    await db.drop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    processes.push(startApp(opts.root, 'metadata-service', { ...env, BERTH_LOG_LEVEL: 'warn' }, await freePort()));
    processes.push(startApp(opts.root, 'token-service', { ...env, BERTH_LOG_LEVEL: 'warn' }, tokenPort));
    processes.push(startApp(opts.root, 'registry-frontend', { ...env, ...measuredEnv(opts), BERTH_BLOB_PULL: 'redirect' }, frontendPort, opts.berthNodeArgs));
    processes.push(startApp(opts.root, 'registry-frontend', { ...env, ...measuredEnv(opts), BERTH_BLOB_PULL: 'proxy' }, await freePort(), opts.berthNodeArgs));
    for (const p of processes) {
      await pollUntil(`${p.name} /healthz`, () => probe(`${p.url}/healthz`), (r) => r.status === 200, {
        timeoutMs: READY_TIMEOUT_MS,
        fatal: () => exitedAny(processes),
      }).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${logs()}`);
        },
      );
    }
    for (const p of processes.slice(2)) {
      await waitForV2(p.url, processes, logs, true);
      await waitForPushable(p.url, auth, processes, logs);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const [, , redirect, proxy] = processes as [RunningProcess, RunningProcess, RunningProcess, RunningProcess];
  return {
    id: 'berth-s3',
    registry: 'berth',
    storage: 's3',
    url: redirect.url,
    proxyUrl: proxy.url,
    pid: redirect.child.pid ?? -1,
    auth,
    setup: `distributed: \`metadata-service\`, \`token-service\` (the frontends forward the challenge's realm \`/oauth2/token\` to it) + two \`registry-frontend\` processes (BERTH_BLOB_PULL=redirect, measured; and =proxy) on a scratch migrated database of the stack's PostgreSQL, BERTH_BLOB_DRIVER=s3 (buckets \`${bucketPrefix}<region>\`), BERTH_CACHE=redis, BERTH_BUS=kafka, BERTH_LOG_LEVEL=${opts.berthLogLevel}, request-rate limits raised (BERTH_TIER_OVERRIDES)`,
    logs,
    stop,
  };
}
