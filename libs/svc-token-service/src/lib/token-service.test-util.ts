import { BUILT_IN_ROLES, hashSecret } from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { TOKEN_SERVICE_NEEDS, TokenServiceModule } from './token-service.module';

/** Test helpers for token-service over real HTTPS (integration specs only; they pass in what @berth/testing provides). */

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TokenServiceUnderTest {
  svc: RunningService;
  ds: DataSource;
  /** `https://localhost:<port>` (the self-signed certificate covers localhost). */
  url: string;
  /** The CA of the self-signed certificate (`<data>/tls/ca.pem`). */
  caFile: string;
  call(method: string, path: string, init?: { headers?: Record<string, string>; form?: Record<string, string | string[]>; body?: string }): Promise<HttpsResponse>;
  stop(): Promise<void>;
}

/** token-service on the real stack with BERTH_TLS=self-signed, its public URL on localhost. */
export async function startTokenService(env: Record<string, string>, port: number, dataDir: string): Promise<TokenServiceUnderTest> {
  const url = `https://localhost:${port}`;
  const svc = await startService(
    {
      name: 'token-service',
      mode: 'distributed',
      rootModule: (config, logger) => serviceRoot(config, logger, { needs: TOKEN_SERVICE_NEEDS, modules: [TokenServiceModule] }),
    },
    {
      ...env,
      BERTH_PORT: String(port),
      BERTH_HOST: '127.0.0.1',
      BERTH_TLS: 'self-signed',
      BERTH_DATA_DIR: dataDir,
      BERTH_PUBLIC_URL: url,
      BERTH_LOGIN_SUFFIX: 'tokens.test',
      BERTH_LOG_LEVEL: env['BERTH_LOG_LEVEL'] ?? 'error',
    },
  );
  const caFile = path.join(dataDir, 'tls', 'ca.pem');
  const ca = await readFile(caFile, 'utf8');
  const call: TokenServiceUnderTest['call'] = (method, p, init = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...init.headers };
      let body = init.body;
      if (init.form) {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries(init.form)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
        body = form.toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      }
      const req = request(`${url}${p}`, { method, headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  return { svc, ds: svc.app.get<DataSource>(DATA_SOURCE), url, caFile, call, stop: () => svc.stop() };
}

/** A tenant with one service principal and registries; the principal's role is given per registry. */
export interface TokenWorld {
  tenantId: string;
  otherTenantId: string;
  sp: { id: string; clientId: string; secret: string };
  otherSp: { id: string; clientId: string; secret: string };
  /** AcrPull for `sp`; admin user on; anonymous off. */
  main: { id: string; name: string; login: string };
  /** Standard with anonymous pull; no role for `sp`. */
  open: { id: string; name: string; login: string };
  /** Basic with anonymous pull switched on (it must not apply). */
  basic: { id: string; name: string; login: string };
  /** The other tenant's registry. */
  foreign: { id: string; name: string; login: string };
  adminPassword: string;
  token: { name: string; password: string };
}

/** Seeds a TokenWorld with SQL (the management API that creates these belongs to metadata-service). */
export async function seedTokenWorld(ds: DataSource, suffix: string): Promise<TokenWorld> {
  const tag = randomUUID().replace(/-/g, '').slice(0, 8);
  const tenant = async () => {
    const [t] = (await ds.query(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`)) as Array<{ id: string }>;
    const [s] = (await ds.query(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [t?.id])) as Array<{ id: string }>;
    const [g] = (await ds.query(`INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'rg', 'eastus') RETURNING id`, [s?.id])) as Array<{ id: string }>;
    return { tenantId: String(t?.id), subscriptionId: String(s?.id), groupId: String(g?.id) };
  };
  const a = await tenant();
  const b = await tenant();
  const registry = async (t: typeof a, name: string, sku: string, admin: boolean, anonymous: boolean) => {
    const [r] = (await ds.query(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku, admin_user_enabled, anonymous_pull_enabled)
       VALUES ($1, $2, $3, $4, 'eastus', $5, $6, $7) RETURNING id`,
      [t.subscriptionId, t.groupId, name, `${name}.${suffix}`, sku, admin, anonymous],
    )) as Array<{ id: string }>;
    return { id: String(r?.id), name, login: `${name}.${suffix}` };
  };
  const principal = async (tenantId: string) => {
    const clientId = randomUUID();
    const secret = `s-${randomUUID()}`;
    const [p] = (await ds.query(
      `INSERT INTO principals (tenant_id, kind, display_name, client_id, password_hash) VALUES ($1, 'ServicePrincipal', 'sp', $2, $3) RETURNING id`,
      [tenantId, clientId, await hashSecret(secret)],
    )) as Array<{ id: string }>;
    return { id: String(p?.id), clientId, secret };
  };
  const main = await registry(a, `main${tag}`, 'Premium', true, false);
  const sp = await principal(a.tenantId);
  const otherSp = await principal(b.tenantId);
  await ds.query(`INSERT INTO role_assignments (principal_id, role_definition_id, scope) VALUES ($1, $2, $3)`, [
    sp.id,
    BUILT_IN_ROLES.AcrPull,
    `/subscriptions/${a.subscriptionId}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/${main.name}`,
  ]);
  const adminPassword = `admin-${randomUUID()}`;
  await ds.query(`INSERT INTO admin_credentials (registry_id, name, password_hash, encrypted_value) VALUES ($1, 'password', $2, 'unused')`, [
    main.id,
    await hashSecret(adminPassword),
  ]);
  const [map] = (await ds.query(`INSERT INTO scope_maps (registry_id, name, actions) VALUES ($1, 'm', $2) RETURNING id`, [
    main.id,
    ['repositories/app/content/read'],
  ])) as Array<{ id: string }>;
  const token = { name: 'ci', password: `tok-${randomUUID()}` };
  await ds.query(`INSERT INTO tokens (registry_id, name, scope_map_id, password1_hash) VALUES ($1, $2, $3, $4)`, [
    main.id,
    token.name,
    map?.id,
    await hashSecret(token.password),
  ]);
  return {
    tenantId: a.tenantId,
    otherTenantId: b.tenantId,
    sp,
    otherSp,
    main,
    open: await registry(a, `open${tag}`, 'Standard', false, true),
    basic: await registry(a, `basic${tag}`, 'Basic', false, true),
    foreign: await registry(b, `foreign${tag}`, 'Premium', true, false),
    adminPassword,
    token,
  };
}

/** The claims of a JWT (unverified; the suites check what was issued). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
