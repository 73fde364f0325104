import { freePort, http, pollUntil, startApp, stopProcess, type ServiceProcess } from '@berth/testing';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/** The embedded default as `npm start` runs it: one process, embedded Postgres, filesystem blobs. */
describe('embedded default (npm start)', () => {
  let dataDir: string;
  let proc: ServiceProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-embedded-'));
    await chmod(dataDir, 0o711); // as root, the embedded Postgres (user postgres) must traverse it
  });

  afterEach(async () => {
    if (proc) await stopProcess(proc).catch(() => undefined);
    proc = undefined;
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const started = Date.now();
    // BERTH_DATABASE_URL empty: the shared stack's URL is in this process's environment, and the embedded
    // default must start its own Postgres.
    proc = startApp('berth', { BERTH_DATA_DIR: dataDir, BERTH_DATABASE_URL: '', ...env }, await freePort());
    const p = proc;
    if (!env['BERTH_TLS']) {
      await pollUntil('/healthz', () => http(`${p.url}/healthz`), (r) => r.status === 200, { timeoutMs: 60000 }).catch((e: Error) => {
        throw new Error(`${e.message}\n--- output ---\n${p.output().slice(-4000)}`);
      });
      // The acceptance bar: answering within a minute of a start with dependencies installed.
      expect(Date.now() - started).toBeLessThan(60000);
    }
    return p;
  }

  /** Connects to the embedded Postgres the way an operator would: port from postmaster.pid, password from its file. */
  async function embeddedPg(): Promise<Client> {
    const pid = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8');
    const port = Number(pid.split('\n')[3]);
    const password = (await readFile(path.join(dataDir, 'postgres', 'berth-password'), 'utf8')).trim();
    const client = new Client({ host: '127.0.0.1', port, user: 'berth', password, database: 'berth' });
    await client.connect();
    return client;
  }

  it('answers /healthz, /v2/ and /readyz with its embedded dependencies, and keeps data across a restart', async () => {
    const first = await start();
    // The data plane challenges anonymous callers (the default registry allows no anonymous pull).
    const base = await http(`${first.url}/v2/`);
    expect(base.status).toBe(401);
    expect(base.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(base.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/oauth2\/token",service="default\.berth\.localhost"$/);

    const ready = await pollUntil('/readyz', () => http(`${first.url}/readyz`), (r) => r.status === 200, { timeoutMs: 30000 });
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { filesystem: 'up', 'in-process-bus': 'up', 'memory-cache': 'up', postgres: 'up' },
    });

    // The schema was migrated at start, and a row written now must survive the restart.
    const db = await embeddedPg();
    try {
      const applied = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM berth_migrations');
      expect(Number(applied.rows[0]?.n)).toBeGreaterThan(0);
      await db.query('CREATE TABLE survival_marker (v text)');
      await db.query("INSERT INTO survival_marker VALUES ('kept')");
    } finally {
      await db.end();
    }
    // The operator contract's bootstrap: generated credentials in <data>/bootstrap.json (0600), the default registry.
    const bootstrapFile = path.join(dataDir, 'bootstrap.json');
    const creds = await pollUntil('bootstrap.json', () => readFile(bootstrapFile, 'utf8'), (s) => s.includes('clientSecret'), { timeoutMs: 20000 });
    expect((await stat(bootstrapFile)).mode & 0o777).toBe(0o600);
    const { clientId, clientSecret } = JSON.parse(creds) as { clientId: string; clientSecret: string };
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(clientSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.output()).not.toContain(clientSecret);
    // The bootstrap principal signs in to the default registry with its client id and secret, as ACR service principals do.
    const signedIn = await http(`${first.url}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    });
    expect(signedIn.status).toBe(200);
    const check = await embeddedPg();
    try {
      const reg = await check.query<{ name: string; sku: string }>('SELECT name, sku FROM registries');
      expect(reg.rows).toEqual([{ name: 'default', sku: 'Premium' }]);
    } finally {
      await check.end();
    }

    expect(await stopProcess(first)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const second = await start();
    await pollUntil('/readyz after restart', () => http(`${second.url}/readyz`), (r) => r.status === 200, { timeoutMs: 30000 });
    const again = await embeddedPg();
    try {
      const marker = await again.query<{ v: string }>('SELECT v FROM survival_marker');
      expect(marker.rows).toEqual([{ v: 'kept' }]);
      // The same principal and registry, not a second bootstrap.
      expect(Number((await again.query<{ n: string }>('SELECT count(*)::text AS n FROM principals')).rows[0]?.n)).toBe(1);
      expect(Number((await again.query<{ n: string }>('SELECT count(*)::text AS n FROM registries')).rows[0]?.n)).toBe(1);
    } finally {
      await again.end();
    }
    expect(await stopProcess(second)).toBe(0);
  });

  it('serves HTTPS with BERTH_TLS=self-signed, trusted through the CA it writes to <data>/tls/ca.pem', async () => {
    const p = await start({ BERTH_TLS: 'self-signed' });
    const caFile = path.join(dataDir, 'tls', 'ca.pem');
    const ca = await pollUntil('ca.pem', () => readFile(caFile, 'utf8'), (s) => s.includes('BEGIN CERTIFICATE'), { timeoutMs: 60000 });
    const port = Number(new URL(p.url).port);
    const get = (host: string): Promise<{ status: number; body: string; challenge?: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/v2/', servername: host, ca, headers: { host: `${host}:${port}` }, timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, challenge: res.headers['www-authenticate'] }));
        });
        req.on('error', reject);
        req.end();
      });
    const viaLocalhost = await pollUntil('https /v2/', () => get('localhost'), (r) => r.status === 401, { timeoutMs: 60000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n--- output ---\n${p.output().slice(-4000)}`);
    });
    // The challenge's realm is on the HTTPS host the client used.
    expect(viaLocalhost.challenge).toBe(`Bearer realm="https://localhost:${port}/oauth2/token",service="default.berth.localhost"`);
    // The default registry's login server is covered by the wildcard certificate and resolves to it;
    // a registry that does not exist is NAME_UNKNOWN, over a certificate that covers its name too.
    expect((await get('default.berth.localhost')).status).toBe(401);
    const unknown = await get('nosuchregistry.berth.localhost');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ errors: [{ code: 'NAME_UNKNOWN' }] });
    expect(await stopProcess(p)).toBe(0);
  });

  it('refuses a bad setting at start with one line naming it, never its value', async () => {
    const p = startApp('berth', { BERTH_DATA_DIR: dataDir, BERTH_TLS: 'sometimes-secret-value' }, await freePort());
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('BERTH_TLS must be one of off, self-signed, files');
    expect(p.output()).not.toContain('sometimes-secret-value');
  });
});
