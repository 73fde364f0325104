import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
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
  /** The operator principal set through BERTH_BOOTSTRAP_CLIENT_ID/SECRET, for registries that challenge. */
  creds: { username: string; password: string };
  processes: ServiceProcess[];
  /** The last lines each process wrote, for failure messages. */
  logs(maxPerProcess?: number): string;
  stop(): Promise<void>;
}

function bootstrapCreds(): { username: string; password: string } {
  return { username: randomUUID(), password: randomBytes(24).toString('base64url') };
}

function logsOf(processes: ServiceProcess[], max = 3000): string {
  return processes.map((p) => `--- ${p.name} output ---\n${p.output().slice(-max)}`).join('\n');
}

/** Waits until GET /v2/ answers as a registry does (200, or 401 with a challenge). */
async function waitForV2(p: ServiceProcess, processes: ServiceProcess[], timeoutMs: number): Promise<void> {
  await pollUntil(`${p.name} GET /v2/`, () => http(`${p.url}/v2/`), (r) => r.status === 200 || r.status === 401, { timeoutMs }).catch(
    (e: Error) => {
      throw new Error(`${e.message}\n${logsOf(processes)}`);
    },
  );
}

/**
 * The embedded default, as `npm start` runs it (see apps/berth/src/embedded-start.integration-spec.ts): one
 * process, embedded Postgres, filesystem blobs in a temp BERTH_DATA_DIR (mode 0711, so the embedded Postgres
 * running as `postgres` can traverse it when the tests run as root).
 */
export async function startEmbeddedBerth(): Promise<BerthUnderTest> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-oci-embedded-'));
  await chmod(dataDir, 0o711);
  const creds = bootstrapCreds();
  const proc = startApp(
    'berth',
    {
      BERTH_DATA_DIR: dataDir,
      // Empty: the shared stack's URL is in this process's environment; the embedded default starts its own Postgres.
      BERTH_DATABASE_URL: '',
      BERTH_BOOTSTRAP_CLIENT_ID: creds.username,
      BERTH_BOOTSTRAP_CLIENT_SECRET: creds.password,
    },
    await freePort(),
  );
  const processes = [proc];
  const stop = async (): Promise<void> => {
    await stopProcess(proc).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForV2(proc, processes, 90000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host: `127.0.0.1:${new URL(proc.url).port}`, creds, processes, logs: (m) => logsOf(processes, m), stop };
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
    BERTH_BOOTSTRAP_CLIENT_ID: creds.username,
    BERTH_BOOTSTRAP_CLIENT_SECRET: creds.password,
  };
  const processes: ServiceProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(processes.map((p) => stopProcess(p)));
    await db.drop().catch(() => undefined);
  };
  try {
    for (const name of DISTRIBUTED_SERVICES) processes.push(startApp(name, env, await freePort()));
    for (const p of processes) {
      await pollUntil(`${p.name} /healthz`, () => http(`${p.url}/healthz`), (r) => r.status === 200, { timeoutMs: 90000 }).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${logsOf(processes)}`);
        },
      );
    }
    const frontend = processes[0] as ServiceProcess;
    await waitForV2(frontend, processes, 60000);
    return { host: `127.0.0.1:${new URL(frontend.url).port}`, creds, processes, logs: (m) => logsOf(processes, m), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
