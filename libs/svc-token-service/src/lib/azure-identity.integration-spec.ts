import { createDataSource } from '@berth/db';
import { freePort, migratedDatabase, pollUntil, REPO_ROOT, stackEnv, startApp, stopProcess, type ServiceProcess } from '@berth/testing';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { claimsOf, seedTokenWorld, type TokenWorld } from './token-service.test-util';

jest.setTimeout(180_000);

const SUFFIX = 'tokens.test';

/**
 * The official `@azure/identity` ClientSecretCredential against the token-service app (a real process, HTTPS
 * with its generated CA), then ACR's exchange and token flows with what it got. The client runs in its own
 * `node` with NODE_EXTRA_CA_CERTS, as the CA only exists once the service has started.
 */
describe('@azure/identity against token-service', () => {
  let svc: ServiceProcess;
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  let dataDir: string;
  let url: string;
  let ca: string;
  let w: TokenWorld;

  const call = (method: string, p: string, form?: Record<string, string>) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const body = form ? new URLSearchParams(form).toString() : undefined;
      const req = request(`${url}${p}`, { method, ca, headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'azidentity');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-azidentity-'));
    const port = await freePort();
    url = `https://localhost:${port}`;
    svc = startApp(
      'token-service',
      {
        ...env,
        BERTH_DATABASE_URL: db.url,
        BERTH_TLS: 'self-signed',
        BERTH_DATA_DIR: dataDir,
        BERTH_PUBLIC_URL: url,
        BERTH_LOGIN_SUFFIX: SUFFIX,
        BERTH_HOST: '127.0.0.1',
        BERTH_LOG_LEVEL: 'debug',
      },
      port,
    );
    const caFile = path.join(dataDir, 'tls', 'ca.pem');
    await pollUntil('the CA file', () => Promise.resolve(existsSync(caFile)), Boolean, { timeoutMs: 90_000 });
    ca = await readFile(caFile, 'utf8');
    await pollUntil('token-service ready', () => call('GET', '/readyz'), (r) => r.status === 200, { timeoutMs: 90_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${svc.output().slice(-3000)}`);
    });
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    w = await seedTokenWorld(ds, SUFFIX);
  });

  afterAll(async () => {
    if (svc) await stopProcess(svc);
    await ds?.destroy();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Runs ClientSecretCredential in a child node process and returns the token it obtained. */
  const azureToken = (scope: string, secret = w.sp.secret) =>
    new Promise<{ token?: string; expiresOnTimestamp?: number; error?: string }>((resolve, reject) => {
      const script = `
        const { ClientSecretCredential } = require('@azure/identity');
        const [tenant, clientId, secret, authorityHost, scope] = process.argv.slice(1);
        new ClientSecretCredential(tenant, clientId, secret, { authorityHost, disableInstanceDiscovery: true })
          .getToken(scope)
          .then((t) => console.log(JSON.stringify({ token: t.token, expiresOnTimestamp: t.expiresOnTimestamp })))
          .catch((e) => console.log(JSON.stringify({ error: String(e && e.message || e) })));`;
      execFile(
        process.execPath,
        ['-e', script, w.tenantId, w.sp.clientId, secret, url, scope],
        { cwd: REPO_ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dataDir, 'tls', 'ca.pem') }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${err.message}\n${stderr}`));
          else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { token?: string; expiresOnTimestamp?: number; error?: string });
        },
      );
    });

  it('gets a token for <public URL>/.default and turns it into registry refresh and access tokens', async () => {
    const got = await azureToken(`${url}/.default`);
    expect(got.error).toBeUndefined();
    expect(got.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60 * 1000);
    expect(claimsOf(got.token ?? '')).toMatchObject({ aud: url, tid: w.tenantId, appid: w.sp.clientId, iss: `${url}/${w.tenantId}/v2.0` });

    const exchanged = await call('POST', '/oauth2/exchange?api-version=2021-07-01', {
      grant_type: 'access_token',
      service: w.main.login,
      access_token: got.token ?? '',
    });
    expect(exchanged.status).toBe(200);
    const refresh = String(exchanged.body['refresh_token']);
    expect(claimsOf(refresh)).toMatchObject({ sub: `principal:${w.sp.id}`, aud: w.main.login, grant_type: 'refresh_token' });

    const access = await call('POST', '/oauth2/token?api-version=2021-07-01', {
      grant_type: 'refresh_token',
      service: w.main.login,
      scope: 'repository:app:pull',
      refresh_token: refresh,
    });
    expect(access.status).toBe(200);
    expect(claimsOf(String(access.body['access_token']))['access']).toEqual([{ type: 'repository', name: 'app', actions: ['pull'] }]);
  });

  it('surfaces a wrong secret as the SDK error, with no secret, password or token in the service log', async () => {
    const wrong = await azureToken(`${url}/.default`, 'definitely-not-the-secret');
    expect(wrong.error).toMatch(/AADSTS7000215/);
    const acr = await azureToken('https://containerregistry.azure.net/.default');
    expect(acr.error).toBeUndefined();
    const log = svc.output();
    expect(log).toContain('"component":"credentials"');
    for (const secret of [w.sp.secret, 'definitely-not-the-secret', w.adminPassword, w.token.password, acr.token ?? 'x'.repeat(40)]) {
      expect(log).not.toContain(secret);
    }
  });
});
