import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migratedDatabase } from '../../lib/database';
import { http, pollUntil } from '../../lib/poll';
import { freePort, startApp, stopProcess, type ServiceProcess } from '../../lib/processes';
import { stackEnv } from '../../lib/stack';

/** A Berth installation under test, reached as a registry at `host` (127.0.0.1:<port>, plain HTTP). */
export interface BerthUnderTest {
  /** host:port: the bare host, i.e. the default registry. */
  host: string;
  /** `http(s)://127.0.0.1:<port>` of the registry (frontend). */
  url: string;
  /** The embedded default's data folder (TLS material under `tls/`); undefined in the distributed mode. */
  dataDir?: string;
  /** The operator principal set through BERTH_BOOTSTRAP_CLIENT_ID/SECRET, for registries that challenge. */
  creds: { username: string; password: string };
  processes: ServiceProcess[];
  /**
   * The last lines each process wrote, for failure messages; led by a warning naming any process that has
   * already ended (a registry that died mid-run explains every "connection refused" after it).
   */
  logs(maxPerProcess?: number): string;
  stop(): Promise<void>;
}

function bootstrapCreds(): { username: string; password: string } {
  return { username: randomUUID(), password: randomBytes(24).toString('base64url') };
}

function logsOf(processes: ServiceProcess[], max = 3000): string {
  const ended = processes
    .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
    .map(
      (p) =>
        `${p.name} (pid ${p.child.pid}) ENDED: exit code ${p.child.exitCode ?? '-'}, signal ${p.child.signalCode ?? '-'}`,
    );
  const logs = processes.map((p) => `--- ${p.name} output ---\n${p.output().slice(-max)}`);
  return [...ended, ...logs].join('\n');
}

/**
 * Starts `app` on a free port and waits until `path` answers with an accepted status. Fails as soon as the
 * process ends instead of polling on. freePort() leaves a window before the app binds, and other processes
 * (an embedded Postgres, other test files) pick ports meanwhile: a start that ends with EADDRINUSE is retried
 * on a new port, at most three times.
 */
async function startReady(
  app: string,
  env: Record<string, string>,
  probe: { path: string; ok: (status: number) => boolean; timeoutMs: number },
  others: ServiceProcess[] = [],
): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt++) {
    const p = startApp(app, env, await freePort());
    let ended: number | string | undefined;
    void p.exited.then((code) => (ended = code));
    try {
      await pollUntil(
        `${app} GET ${probe.path}`,
        async () => {
          if (ended !== undefined) return { ended };
          return { status: await probeStatus(`${p.url}${probe.path}`) };
        },
        (r) => 'ended' in r || probe.ok(r.status),
        { timeoutMs: probe.timeoutMs },
      );
    } catch (e) {
      await stopProcess(p).catch(() => undefined);
      throw new Error(`${(e as Error).message}\n${logsOf([...others, p])}`);
    }
    if (ended === undefined) return p;
    if (attempt < 3 && p.output().includes('EADDRINUSE')) continue;
    throw new Error(`${app} ended during start-up (exit ${ended})\n${logsOf([...others, p])}`);
  }
}

const registryAnswers = (status: number): boolean => status === 200 || status === 401;

/**
 * The status a start-up probe gets. Over HTTPS the certificate is not checked here: the probe only asks whether
 * the process serves yet (its self-signed CA may not even be written yet); tests that use TLS verify it themselves.
 */
function probeStatus(url: string): Promise<number> {
  if (!url.startsWith('https:')) return http(url).then((r) => r.status);
  return new Promise<number>((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The embedded default, as `npm start` runs it (see apps/berth/src/embedded-start.integration-spec.ts): one
 * process, embedded Postgres, filesystem blobs in a temp BERTH_DATA_DIR (mode 0711, so the embedded Postgres
 * running as `postgres` can traverse it when the tests run as root). Ready when GET /v2/ answers as a
 * registry does (200, or 401 with a challenge).
 */
export async function startEmbeddedBerth(extraEnv: Record<string, string> = {}): Promise<BerthUnderTest> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-oci-embedded-'));
  await chmod(dataDir, 0o711);
  const creds = bootstrapCreds();
  const env = {
    BERTH_DATA_DIR: dataDir,
    // Empty: the shared stack's URL is in this process's environment; the embedded default starts its own Postgres.
    BERTH_DATABASE_URL: '',
    BERTH_BOOTSTRAP_CLIENT_ID: creds.username,
    BERTH_BOOTSTRAP_CLIENT_SECRET: creds.password,
    ...extraEnv,
  };
  let proc: ServiceProcess;
  try {
    proc = await startReady('berth', env, { path: '/v2/', ok: registryAnswers, timeoutMs: 90000 });
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  const processes = [proc];
  const stop = async (): Promise<void> => {
    await stopProcess(proc).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  return {
    host: `127.0.0.1:${new URL(proc.url).port}`,
    url: proc.url,
    dataDir,
    creds,
    processes,
    logs: (m) => logsOf(processes, m),
    stop,
  };
}

/** The six services of the distributed mode. */
export const DISTRIBUTED_SERVICES = [
  'registry-frontend',
  'token-service',
  'metadata-service',
  'replication-worker',
  'webhook-dispatcher',
  'scan-worker',
] as const;

/**
 * The distributed mode on the shared local stack (Postgres, Redis, Kafka, MinIO): every service as its own
 * process with `stackEnv()`, on a database of its own migrated first (as an operator's migrate Job would) and
 * its own bucket prefix. The registry is the registry-frontend's port.
 */
export async function startDistributedBerth(prefix = 'oci'): Promise<BerthUnderTest> {
  const stack = stackEnv();
  const db = await migratedDatabase(stack['BERTH_DATABASE_URL'] ?? '', prefix);
  const creds = bootstrapCreds();
  const env = {
    ...stack,
    BERTH_DATABASE_URL: db.url,
    BERTH_S3_BUCKET_PREFIX: `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}-`,
    // Counters of the default registry (a stable id) are not shared with other runs on the same Redis.
    BERTH_REDIS_NAMESPACE: `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`,
    BERTH_BOOTSTRAP_CLIENT_ID: creds.username,
    BERTH_BOOTSTRAP_CLIENT_SECRET: creds.password,
    // Every service must share it: it is the issuer of the tokens token-service signs and the others verify
    // (each process's default would name its own port).
    BERTH_PUBLIC_URL: 'http://berth-oci.test',
    // Pull redirects go to storage under another host name than the registry's, as in any real deployment:
    // clients (Go's net/http among them) keep the registry's Authorization header on a redirect to the same
    // host, and S3 refuses a request that carries both that header and a presigned signature.
    ...(stack['BERTH_S3_ENDPOINT'] ? { BERTH_S3_PUBLIC_ENDPOINT: stack['BERTH_S3_ENDPOINT'].replace('//127.0.0.1:', '//localhost:') } : {}),
  };
  const processes: ServiceProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(processes.map((p) => stopProcess(p)));
    await db.drop().catch(() => undefined);
  };
  // The five back-end services at once (each waits for its own readiness), then the frontend, which forwards
  // /oauth2/* to token-service so clients follow the challenge's realm on the registry host. A failure stops
  // the ones that did start.
  const backEnd = DISTRIBUTED_SERVICES.filter((name) => name !== 'registry-frontend');
  const started = await Promise.allSettled(
    backEnd.map((name) =>
      startReady(name, env, { path: '/healthz', ok: (status) => status === 200, timeoutMs: 90000 }),
    ),
  );
  for (const r of started) if (r.status === 'fulfilled') processes.push(r.value);
  const failures = started.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  try {
    if (failures.length) throw new Error(`the distributed services did not start:\n${failures.join('\n')}`);
    const tokenService = processes.find((p) => p.name === 'token-service') as ServiceProcess;
    const frontend = await startReady(
      'registry-frontend',
      { ...env, BERTH_TOKEN_SERVICE_URL: tokenService.url },
      { path: '/v2/', ok: registryAnswers, timeoutMs: 90000 },
      processes,
    );
    processes.unshift(frontend);
    return {
      host: `127.0.0.1:${new URL(frontend.url).port}`,
      url: frontend.url,
      creds,
      processes,
      logs: (m) => logsOf(processes, m),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
