import {
  freePort,
  migratedDatabase,
  pollUntil,
  REPO_ROOT,
  stackEnv,
  startApp,
  stopProcess,
  type ServiceProcess,
} from '@berth/testing';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';

jest.setTimeout(240_000);

/** GET over HTTPS without verifying the certificate: only to learn that the server is up. */
function readyStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0));
  });
}

/**
 * End to end with the official clients: the embedded host over HTTPS (BERTH_TLS=self-signed), `@azure/identity`'s
 * ClientSecretCredential against Berth's identity endpoint, and `@azure/arm-containerregistry` doing the issue's
 * "Done when" list (arm-sdk-flow.script.ts) in a child process that trusts Berth's CA (NODE_EXTRA_CA_CERTS).
 */
describe('@azure/arm-containerregistry against Berth', () => {
  let berth: ServiceProcess | undefined;
  let dataDir: string;
  let db: { url: string; drop(): Promise<void> };
  const tenant = randomUUID();
  const subscription = randomUUID();
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  let url = '';

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'armsdk');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-armsdk-'));
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    berth = startApp(
      'berth',
      {
        BERTH_DATABASE_URL: db.url,
        BERTH_DATA_DIR: dataDir,
        BERTH_TLS: 'self-signed',
        BERTH_PUBLIC_URL: url,
        BERTH_BOOTSTRAP_TENANT: tenant,
        BERTH_BOOTSTRAP_SUBSCRIPTION: subscription,
        BERTH_BOOTSTRAP_CLIENT_ID: clientId,
        BERTH_BOOTSTRAP_CLIENT_SECRET: secret,
        BERTH_REGIONS: 'eastus,westeurope',
        BERTH_WEBHOOK_ALLOWED_PRIVATE: '127.0.0.1',
        BERTH_LOG_LEVEL: 'warn',
      },
      port,
    );
    await pollUntil(
      'berth ready',
      () => readyStatus(`${url}/readyz`),
      (s) => s === 200,
      { timeoutMs: 90_000 },
    );
  });

  afterAll(async () => {
    if (berth) await stopProcess(berth);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('checks a name, creates, lists, upgrades, replicates, tokens, usages, imports and deletes a registry', async () => {
    const ca = path.join(dataDir, 'tls', 'ca.pem');
    expect(existsSync(ca)).toBe(true);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-r', './scripts/register.cjs', 'libs/svc-metadata-service/src/lib/management/e2e/arm-sdk-flow.script.ts'],
        {
          cwd: REPO_ROOT,
          timeout: 180_000,
          env: {
            ...process.env,
            NODE_EXTRA_CA_CERTS: ca,
            BERTH_URL: url,
            BERTH_TENANT: tenant,
            BERTH_CLIENT_ID: clientId,
            BERTH_CLIENT_SECRET: secret,
            BERTH_SUBSCRIPTION: subscription,
            REGISTRY: `sdk${randomUUID().replace(/-/g, '').slice(0, 10)}`,
          },
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const steps = out.stdout
      .split('\n')
      .filter((l) => l.startsWith('STEP '))
      .map((l) => l.slice(5));
    const detail = `${out.stdout}\n${out.stderr}\n--- berth ---\n${berth?.output().slice(-4000) ?? ''}`;
    expect({ code: out.code, steps, detail: out.code === 0 ? '' : detail }).toEqual({
      code: 0,
      steps: [
        'checkNameAvailability',
        'create',
        'get-and-list',
        'credentials',
        'replication-refused-on-basic',
        'third-webhook-refused-on-basic',
        'webhook-ping-and-events',
        'upgrade-to-premium',
        'replication',
        'downgrade-refused',
        'scope-map-and-token',
        'usages',
        'import',
        'delete',
      ],
      detail: '',
    });
  });
});
