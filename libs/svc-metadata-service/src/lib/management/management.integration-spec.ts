import { verifySecret } from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import { MediaTypes, digestOf } from '@berth/oci';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import { SigningKeys, TokenIssuer } from '@berth/identity';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import { freePort, migratedDatabase, stackEnv } from '@berth/testing';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { METADATA_SERVICE_NEEDS, MetadataServiceModule } from '../metadata-service.module';

jest.setTimeout(120_000);

const OWNER_ROLE = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const READER_ROLE = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const V = 'api-version=2025-11-01';

interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/** The management API over HTTP against the real stack: every route, and every refusal changes nothing. */
describe('management API', () => {
  let svc: RunningService;
  let ds: DataSource;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;
  const sub = randomUUID();
  const otherSub = randomUUID();
  const tokens: Record<'owner' | 'reader' | 'stranger', string> = { owner: '', reader: '', stranger: '' };
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8);
  const reg = `mgmt${suffix}`;
  const P = `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.ContainerRegistry`;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'mgmt');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-mgmt-'));
    svc = await startService(
      {
        name: 'metadata-service',
        mode: 'distributed',
        rootModule: (config, logger) =>
          serviceRoot(config, logger, { needs: METADATA_SERVICE_NEEDS, modules: [MetadataServiceModule] }),
      },
      {
        ...env,
        BERTH_DATABASE_URL: db.url,
        BERTH_PORT: String(await freePort()),
        BERTH_HOST: '127.0.0.1',
        BERTH_LOG_LEVEL: 'error',
        BERTH_REGIONS: 'eastus,westeurope',
        BERTH_BLOB_DRIVER: 'fs',
        BERTH_DATA_DIR: dataDir,
        BERTH_BOOTSTRAP_SUBSCRIPTION: sub,
        BERTH_DEFAULT_REGISTRY: `dflt${suffix}`,
        BERTH_WEBHOOK_ALLOWED_PRIVATE: '127.0.0.1',
      },
    );
    ds = svc.app.get<DataSource>(DATA_SOURCE);
    await svc.app.get(SigningKeys, { strict: false }).rotateIfDue(new Date());
    const [tenant] = (await ds.query(`SELECT tenant_id FROM subscriptions WHERE id = $1`, [sub])) as Array<{
      tenant_id: string;
    }>;
    const tenantId = tenant?.tenant_id ?? '';
    await ds.query(`INSERT INTO subscriptions (id, tenant_id, display_name) VALUES ($1, $2, 'other')`, [
      otherSub,
      tenantId,
    ]);
    const issuer = svc.app.get(TokenIssuer, { strict: false });
    for (const [who, scope, role] of [
      ['owner', `/subscriptions/${sub}`, OWNER_ROLE],
      ['reader', `/subscriptions/${sub}`, READER_ROLE],
      ['stranger', `/subscriptions/${otherSub}`, OWNER_ROLE],
    ] as const) {
      const clientId = randomUUID();
      const [p] = (await ds.query(
        `INSERT INTO principals (tenant_id, kind, display_name, client_id) VALUES ($1, 'ServicePrincipal', $2, $3) RETURNING id`,
        [tenantId, who, clientId],
      )) as Array<{ id: string }>;
      await ds.query(`INSERT INTO role_assignments (principal_id, role_definition_id, scope) VALUES ($1, $2, $3)`, [
        p?.id,
        role,
        scope,
      ]);
      tokens[who] = (
        await issuer.issueIdentityToken({
          tenantId,
          principalId: p?.id ?? '',
          clientId,
          idtyp: 'app',
          audience: 'https://management.azure.com',
        })
      ).token;
    }
    await ds.query(`INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'rg1', 'eastus')`, [sub]);
  });

  afterAll(async () => {
    await svc?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function call(
    method: string,
    p: string,
    body?: unknown,
    opts: { as?: keyof typeof tokens | null; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Res> {
    const who = opts.as === undefined ? 'owner' : opts.as;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (who) headers['authorization'] = `Bearer ${tokens[who]}`;
    if (body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${svc.url}${p}`, {
      method,
      headers,
      body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
  }

  const code = (r: Res): string | undefined => r.json<{ error?: { code?: string } }>().error?.code;
  const count = async (table: string): Promise<number> =>
    Number(((await ds.query(`SELECT count(*)::int AS n FROM ${table}`)) as Array<{ n: number }>)[0]?.n);

  async function waitOperation(url: string): Promise<Record<string, unknown>> {
    const u = new URL(url);
    for (let i = 0; i < 100; i++) {
      const r = await call('GET', `${u.pathname}${u.search}`);
      expect(r.status).toBe(200);
      const op = r.json();
      if (op['status'] !== 'InProgress') return op;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('operation did not finish');
  }

  const basic = { location: 'eastus', sku: { name: 'Basic' }, properties: { adminUserEnabled: true } };

  it('refuses unauthenticated and invalid tokens with ARM errors', async () => {
    const none = await call('GET', `${P}/registries?${V}`, undefined, { as: null });
    expect(none.status).toBe(401);
    expect(code(none)).toBe('AuthenticationFailed');
    const bad = await call('GET', `${P}/registries?${V}`, undefined, {
      as: null,
      headers: { authorization: 'Bearer abc.def.ghi' },
    });
    expect(bad.status).toBe(401);
    expect(code(bad)).toBe('InvalidAuthenticationToken');
    expect(bad.text).not.toContain('stack');
  });

  it('checks api-version as ARM does', async () => {
    expect(code(await call('GET', `${P}/registries`))).toBe('MissingApiVersionParameter');
    const old = await call('GET', `${P}/registries?api-version=2019-05-01`);
    expect(old.status).toBe(400);
    expect(code(old)).toBe('NoRegisteredProviderFound');
    expect(code(await call('GET', `${P}/registries?api-version=banana`))).toBe('InvalidApiVersionParameter');
    expect((await call('GET', `${P}/registries?api-version=2023-07-01`)).status).toBe(200);
  });

  it('hides a subscription from principals without a role in it and refuses readers writes', async () => {
    const hidden = await call('GET', `${P}/registries?${V}`, undefined, { as: 'stranger' });
    expect(hidden.status).toBe(404);
    expect(code(hidden)).toBe('SubscriptionNotFound');
    const hiddenBadBody = await call('PUT', `${P}/registries/${reg}?${V}`, undefined, { as: 'stranger', raw: '{oops' });
    expect(code(hiddenBadBody)).toBe('SubscriptionNotFound');
    const before = await count('registries');
    const denied = await call('PUT', `${P}/registries/${reg}?${V}`, basic, { as: 'reader' });
    expect(denied.status).toBe(403);
    expect(code(denied)).toBe('AuthorizationFailed');
    expect(await count('registries')).toBe(before);
    expect((await call('GET', `${P}/registries?${V}`, undefined, { as: 'reader' })).status).toBe(200);
    const ids = async (as: 'owner' | 'stranger'): Promise<string[]> =>
      (await call('GET', '/subscriptions?api-version=2022-12-01', undefined, { as }))
        .json<{ value: Array<{ subscriptionId: string }> }>()
        .value.map((x) => x.subscriptionId);
    expect(await ids('owner')).toEqual([sub]);
    expect(await ids('stranger')).toEqual([otherSub]);
  });

  it('manages resource groups in Microsoft.Resources shape with case-insensitive paths', async () => {
    const put = await call('PUT', `/subscriptions/${sub}/resourcegroups/Team.A?api-version=2022-09-01`, {
      location: 'westeurope',
      tags: { a: 'b' },
    });
    expect(put.status).toBe(201);
    expect(put.json()).toMatchObject({
      name: 'Team.A',
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      tags: { a: 'b' },
    });
    expect(
      (
        await call('PUT', `/subscriptions/${sub}/resourceGroups/team.a?api-version=2022-09-01`, {
          location: 'westeurope',
        })
      ).status,
    ).toBe(200);
    expect((await call('GET', `/SUBSCRIPTIONS/${sub}/RESOURCEGROUPS/TEAM.A?api-version=2022-09-01`)).status).toBe(200);
    expect((await call('HEAD', `/subscriptions/${sub}/resourcegroups/team.a?api-version=2022-09-01`)).status).toBe(204);
    expect((await call('HEAD', `/subscriptions/${sub}/resourcegroups/nope?api-version=2022-09-01`)).status).toBe(404);
    const list = await call('GET', `/subscriptions/${sub}/resourcegroups?api-version=2022-09-01`);
    expect(list.json<{ value: Array<{ name: string }> }>().value.map((g) => g.name)).toEqual(
      expect.arrayContaining(['rg1', 'Team.A', 'berth']),
    );
    const del = await call('DELETE', `/subscriptions/${sub}/resourcegroups/team.a?api-version=2022-09-01`);
    expect(del.status).toBe(202);
    const loc = new URL(del.headers.get('location') ?? '');
    let status = 202;
    for (let i = 0; i < 50 && status === 202; i++) {
      status = (await call('GET', `${loc.pathname}${loc.search}`)).status;
      if (status === 202) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(code(await call('GET', `/subscriptions/${sub}/resourcegroups/team.a?api-version=2022-09-01`))).toBe(
      'ResourceGroupNotFound',
    );
  });

  it.each([
    ['a bad name', 'ab', basic, 'InvalidResourceName'],
    ['a name with a dash', 'bad-name1', basic, 'InvalidResourceName'],
    ['an unknown SKU', 'okname1', { ...basic, sku: { name: 'Gold' } }, 'InvalidSkuName'],
    [
      'an unknown property',
      'okname1',
      { ...basic, properties: { adminUserEnabled: true, colour: 'blue' } },
      'InvalidRequestContent',
    ],
    [
      'a wrongly typed property',
      'okname1',
      { ...basic, properties: { adminUserEnabled: 'yes' } },
      'InvalidRequestContent',
    ],
    ['a missing sku', 'okname1', { location: 'eastus' }, 'InvalidRequestContent'],
    ['an unknown location', 'okname1', { ...basic, location: 'mars' }, 'LocationNotAvailableForResourceType'],
    [
      'anonymous pull on Basic',
      'okname1',
      { ...basic, properties: { anonymousPullEnabled: true } },
      'OperationNotAllowed',
    ],
    [
      'IP rules on Standard',
      'okname1',
      {
        ...basic,
        sku: { name: 'Standard' },
        properties: { networkRuleSet: { defaultAction: 'Deny', ipRules: [{ value: '10.0.0.0/8' }] } },
      },
      'OperationNotAllowed',
    ],
  ])('refuses a registry with %s and creates nothing', async (_what, name, body, expected) => {
    const before = [await count('registries'), await count('scope_maps'), await count('admin_credentials')];
    const r = await call('PUT', `${P}/registries/${name}?${V}`, body);
    expect(r.status).toBe(400);
    expect(code(r)).toBe(expected);
    expect([await count('registries'), await count('scope_maps'), await count('admin_credentials')]).toEqual(before);
  });

  it('refuses malformed JSON and a missing resource group with ARM errors', async () => {
    const before = await count('registries');
    const bad = await call('PUT', `${P}/registries/okname1?${V}`, undefined, { raw: '{"location": ' });
    expect(bad.status).toBe(400);
    expect(code(bad)).toBe('InvalidRequestContent');
    const noGroup = await call(
      'PUT',
      `/subscriptions/${sub}/resourceGroups/nogroup/providers/Microsoft.ContainerRegistry/registries/okname1?${V}`,
      basic,
    );
    expect(noGroup.status).toBe(404);
    expect(code(noGroup)).toBe('ResourceGroupNotFound');
    expect(await count('registries')).toBe(before);
  });

  it('creates, reads and lists a Basic registry; the name is then taken', async () => {
    const put = await call('PUT', `${P}/registries/${reg}?${V}`, { ...basic, tags: { env: 'test' } });
    expect(put.status).toBe(201);
    expect(put.json()).toMatchObject({
      name: reg,
      type: 'Microsoft.ContainerRegistry/registries',
      sku: { name: 'Basic', tier: 'Basic' },
      properties: { provisioningState: 'Succeeded', adminUserEnabled: true, loginServer: `${reg}.berth.localhost` },
    });
    const op = await waitOperation(put.headers.get('azure-asyncoperation') ?? '');
    expect(op['status']).toBe('Succeeded');
    const got = await call(
      'GET',
      `/subscriptions/${sub}/resourcegroups/RG1/providers/microsoft.containerregistry/registries/${reg.toUpperCase()}?${V}`,
    );
    expect(got.status).toBe(200);
    expect(got.json()['id']).toBe(`${P}/registries/${reg}`);
    const inRg = await call('GET', `${P}/registries?${V}`);
    expect(inRg.json<{ value: Array<{ name: string }> }>().value.map((r) => r.name)).toEqual([reg]);
    const inSub = await call('GET', `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/registries?${V}`);
    expect(inSub.json<{ value: Array<{ name: string }> }>().value.map((r) => r.name)).toEqual(
      expect.arrayContaining([reg, `dflt${suffix}`]),
    );
    const check = await call(
      'POST',
      `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability?${V}`,
      {
        name: reg.toUpperCase(),
        type: 'Microsoft.ContainerRegistry/registries',
      },
    );
    expect(check.json()).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    const invalid = await call(
      'POST',
      `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability?${V}`,
      {
        name: 'a-b',
        type: 'Microsoft.ContainerRegistry/registries',
      },
    );
    expect(invalid.json()).toMatchObject({ nameAvailable: false, reason: 'Invalid' });
    const elsewhere = await call(
      'PUT',
      `/subscriptions/${sub}/resourceGroups/berth/providers/Microsoft.ContainerRegistry/registries/${reg}?${V}`,
      basic,
    );
    expect(elsewhere.status).toBe(409);
    const sms = (await ds.query(
      `SELECT s.name, s.type FROM scope_maps s JOIN registries r ON r.id = s.registry_id WHERE r.name = $1`,
      [reg],
    )) as Array<{ name: string; type: string }>;
    expect(sms.map((s) => s.name).sort()).toEqual([
      '_repositories_admin',
      '_repositories_pull',
      '_repositories_pull_metadata_read',
      '_repositories_push',
      '_repositories_push_metadata_write',
    ]);
  });

  it('lists and regenerates admin credentials, storing only hashes and sealed values', async () => {
    const list = await call('POST', `${P}/registries/${reg}/listCredentials?${V}`);
    expect(list.status).toBe(200);
    const creds = list.json<{ username: string; passwords: Array<{ name: string; value: string }> }>();
    expect(creds.username).toBe(reg);
    expect(creds.passwords.map((p) => p.name)).toEqual(['password', 'password2']);
    const regen = await call('POST', `${P}/registries/${reg}/regenerateCredential?${V}`, { name: 'password2' });
    const after = regen.json<{ passwords: Array<{ name: string; value: string }> }>().passwords;
    expect(after[0]?.value).toBe(creds.passwords[0]?.value);
    expect(after[1]?.value).not.toBe(creds.passwords[1]?.value);
    const rows = (await ds.query(
      `SELECT c.name, c.password_hash, c.encrypted_value FROM admin_credentials c JOIN registries r ON r.id = c.registry_id WHERE r.name = $1 ORDER BY c.name`,
      [reg],
    )) as Array<{ name: string; password_hash: string; encrypted_value: string }>;
    expect(await verifySecret(after[1]?.value ?? '', rows[1]?.password_hash ?? '')).toBe(true);
    expect(rows[1]?.encrypted_value).not.toContain(after[1]?.value ?? '');
    expect(code(await call('POST', `${P}/registries/${reg}/regenerateCredential?${V}`, { name: 'password3' }))).toBe(
      'InvalidRequestContent',
    );
  });

  it('gives the default registry system scope maps, and admin passwords when its admin user is enabled', async () => {
    const dflt = `/subscriptions/${sub}/resourceGroups/berth/providers/Microsoft.ContainerRegistry/registries/dflt${suffix}`;
    const maps = await call('GET', `${dflt}/scopeMaps?${V}`);
    expect(maps.json<{ value: Array<{ name: string }> }>().value.map((m) => m.name)).toContain('_repositories_admin');
    expect(code(await call('POST', `${dflt}/listCredentials?${V}`))).toBe('AdminUserDisabled');
    expect((await call('PATCH', `${dflt}?${V}`, { properties: { adminUserEnabled: true } })).status).toBe(200);
    const creds = await call('POST', `${dflt}/listCredentials?${V}`);
    expect(creds.json<{ passwords: Array<{ name: string }> }>().passwords.map((p) => p.name)).toEqual([
      'password',
      'password2',
    ]);
  });

  it('enforces Basic limits: no replication, two webhooks; refuses SSRF destinations', async () => {
    const rep = await call('PUT', `${P}/registries/${reg}/replications/westeurope?${V}`, { location: 'westeurope' });
    expect(rep.status).toBe(400);
    expect(code(rep)).toBe('OperationNotAllowed');
    const hook = (uri: string): unknown => ({
      location: 'eastus',
      properties: { serviceUri: uri, actions: ['push'], customHeaders: { Authorization: 'Basic x' } },
    });
    const ssrf = await call(
      'PUT',
      `${P}/registries/${reg}/webhooks/hookmeta?${V}`,
      hook('http://169.254.169.254/latest'),
    );
    expect(ssrf.status).toBe(400);
    expect(code(ssrf)).toBe('InvalidServiceUri');
    const privateNet = await call(
      'PUT',
      `${P}/registries/${reg}/webhooks/hookprivate?${V}`,
      hook('http://10.0.0.1/hook'),
    );
    expect(privateNet.status).toBe(400);
    expect(code(privateNet)).toBe('InvalidServiceUri');
    expect((await call('GET', `${P}/registries/${reg}/webhooks/hookprivate?${V}`)).status).toBe(404);
    for (const n of ['hookone', 'hooktwo'])
      expect(
        (await call('PUT', `${P}/registries/${reg}/webhooks/${n}?${V}`, hook('http://127.0.0.1:9/hook'))).status,
      ).toBe(201);
    const third = await call('PUT', `${P}/registries/${reg}/webhooks/hookthree?${V}`, hook('http://127.0.0.1:9/hook'));
    expect(third.status).toBe(409);
    expect(code(third)).toBe('QuotaExceeded');
    const got = await call('GET', `${P}/registries/${reg}/webhooks/hookone?${V}`);
    expect(got.json()).toMatchObject({
      properties: { actions: ['push'], status: 'enabled', provisioningState: 'Succeeded' },
    });
    expect(got.text).not.toContain('127.0.0.1');
    const cb = await call('POST', `${P}/registries/${reg}/webhooks/hookone/getCallbackConfig?${V}`);
    expect(cb.json()).toEqual({ serviceUri: 'http://127.0.0.1:9/hook', customHeaders: { Authorization: 'Basic x' } });
    const ping = await call('POST', `${P}/registries/${reg}/webhooks/hookone/ping?${V}`);
    expect(ping.status).toBe(200);
    const id = ping.json()['id'];
    const outbox = (await ds.query(`SELECT payload FROM outbox_events WHERE payload->>'id' = $1`, [id])) as Array<{
      payload: { type: string; data: { webhookId: string } };
    }>;
    expect(outbox[0]?.payload.type).toBe('ping');
    const events = await call('POST', `${P}/registries/${reg}/webhooks/hookone/listEvents?${V}`);
    expect(events.status).toBe(200);
    expect(Array.isArray(events.json()['value'])).toBe(true);
    expect((await call('GET', `${P}/registries/${reg}/webhooks?${V}`)).json<{ value: unknown[] }>().value).toHaveLength(
      2,
    );
    expect((await call('DELETE', `${P}/registries/${reg}/webhooks/hooktwo?${V}`)).status).toBe(200);
    expect((await call('DELETE', `${P}/registries/${reg}/webhooks/hooktwo?${V}`)).status).toBe(204);
  });

  it('upgrades to Premium, replicates, and refuses a downgrade while the replication exists', async () => {
    const up = await call('PATCH', `${P}/registries/${reg}?${V}`, {
      sku: { name: 'Premium' },
      properties: { anonymousPullEnabled: true },
    });
    expect(up.status).toBe(200);
    expect(up.json()).toMatchObject({ sku: { name: 'Premium' }, properties: { anonymousPullEnabled: true } });
    const home = await call('PUT', `${P}/registries/${reg}/replications/eastus?${V}`, { location: 'eastus' });
    expect(code(home)).toBe('InvalidReplicationLocation');
    const rep = await call('PUT', `${P}/registries/${reg}/replications/westeurope?${V}`, { location: 'westeurope' });
    expect(rep.status).toBe(201);
    expect(rep.json()).toMatchObject({ location: 'westeurope', properties: { regionEndpointEnabled: true } });
    expect(
      (await call('GET', `${P}/registries/${reg}/replications?${V}`)).json<{ value: unknown[] }>().value,
    ).toHaveLength(1);
    const down = await call('PATCH', `${P}/registries/${reg}?${V}`, { sku: { name: 'Basic' } });
    expect(down.status).toBe(400);
    expect(code(down)).toBe('OperationNotAllowed');
    expect((await call('GET', `${P}/registries/${reg}?${V}`)).json()).toMatchObject({ sku: { name: 'Premium' } });
    const ipRules = await call('PATCH', `${P}/registries/${reg}?${V}`, {
      properties: { networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '10.1.0.0/16' }] } },
    });
    expect(ipRules.json()).toMatchObject({
      properties: { networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '10.1.0.0/16' }] } },
    });
    await call('PATCH', `${P}/registries/${reg}?${V}`, {
      properties: { networkRuleSet: { defaultAction: 'Allow', ipRules: [] } },
    });
  });

  it('creates scope maps and tokens, generates token passwords, and lists usages', async () => {
    const badActions = await call('PUT', `${P}/registries/${reg}/scopeMaps/devmap?${V}`, {
      properties: { actions: ['repositories/x/everything'] },
    });
    expect(code(badActions)).toBe('InvalidScopeMapActions');
    const sm = await call('PUT', `${P}/registries/${reg}/scopeMaps/devmap?${V}`, {
      properties: { description: 'dev', actions: ['repositories/app/content/read', 'repositories/app/content/write'] },
    });
    expect(sm.status).toBe(201);
    const scopeMapId = sm.json()['id'] as string;
    expect(code(await call('DELETE', `${P}/registries/${reg}/scopeMaps/_repositories_pull?${V}`))).toBe(
      'SystemScopeMapReadOnly',
    );
    const tok = await call('PUT', `${P}/registries/${reg}/tokens/ci-token?${V}`, { properties: { scopeMapId } });
    expect(tok.status).toBe(201);
    const tokenId = tok.json()['id'] as string;
    const gen = await call('POST', `${P}/registries/${reg}/generateCredentials?${V}`, { tokenId, name: 'password1' });
    expect(gen.status).toBe(200);
    expect(gen.json()).toMatchObject({ username: 'ci-token', passwords: [{ name: 'password1' }] });
    const [row] = (await ds.query(`SELECT password1_hash FROM tokens WHERE name = 'ci-token'`)) as Array<{
      password1_hash: string;
    }>;
    const value = gen.json<{ passwords: Array<{ value: string }> }>().passwords[0]?.value ?? '';
    expect(await verifySecret(value, row?.password1_hash ?? '')).toBe(true);
    expect((await call('GET', `${P}/registries/${reg}/tokens/ci-token?${V}`)).json()).toMatchObject({
      properties: { status: 'enabled', scopeMapId, credentials: { passwords: [{ name: 'password1' }] } },
    });
    expect(code(await call('DELETE', `${P}/registries/${reg}/scopeMaps/devmap?${V}`))).toBe('ScopeMapInUse');
    const usages = await call('GET', `${P}/registries/${reg}/listUsages?${V}`);
    const byName = Object.fromEntries(
      usages
        .json<{ value: Array<{ name: string; limit: number; currentValue: number }> }>()
        .value.map((u) => [u.name, u]),
    );
    expect(byName['Webhooks']).toMatchObject({ limit: 500, currentValue: 1 });
    expect(byName['Geo-replications']).toMatchObject({ limit: -1, currentValue: 1 });
    expect(byName['Tokens']).toMatchObject({ limit: 50000, currentValue: 1 });
    expect(byName['ScopeMaps']).toMatchObject({ currentValue: 1 });
    expect(byName['Size']).toMatchObject({ limit: 500 * 1024 ** 3, currentValue: 0 });
  });

  /** An OCI image: config, one layer and the manifest bytes. */
  function image(seed: string): { config: Buffer; layer: Buffer; manifest: Buffer } {
    const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', seed }));
    const layer = Buffer.from(`layer ${seed}`);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { mediaType: MediaTypes.OciConfig, digest: digestOf(config), size: config.length },
        layers: [{ mediaType: MediaTypes.OciLayerTarGzip, digest: digestOf(layer), size: layer.length }],
      }),
    );
    return { config, layer, manifest };
  }

  async function waitLocation(location: string | null): Promise<Res> {
    const u = new URL(location ?? '');
    for (let i = 0; i < 100; i++) {
      const r = await call('GET', `${u.pathname}${u.search}`);
      if (r.status !== 202) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('operation did not finish');
  }

  async function tagDigest(registry: string, repo: string, tag: string): Promise<string | undefined> {
    const rows = (await ds.query(
      `SELECT g.manifest_digest FROM tags g JOIN repositories r ON r.id = g.repository_id JOIN registries x ON x.id = r.registry_id
        WHERE x.name = $1 AND r.name = $2 AND g.name = $3`,
      [registry, repo, tag],
    )) as Array<{ manifest_digest: string }>;
    return rows[0]?.manifest_digest;
  }

  it('imports an image from another Berth registry (NoForce refuses an existing tag, Force moves it)', async () => {
    const src = `src${suffix}`;
    expect(
      (await call('PUT', `${P}/registries/${src}?${V}`, { location: 'eastus', sku: { name: 'Standard' } })).status,
    ).toBe(201);
    const [row] = (await ds.query(`SELECT id FROM registries WHERE name = $1`, [src])) as Array<{ id: string }>;
    const srcId = row?.id ?? '';
    const img = image('berth');
    const stores = svc.app.get<BlobStores>(BLOB_STORES);
    for (const b of [img.config, img.layer]) {
      await stores.get('eastus').putBlob(srcId, Readable.from([b]), digestOf(b));
      await ds.query(`INSERT INTO blobs (registry_id, digest, size) VALUES ($1, $2, $3)`, [
        srcId,
        digestOf(b),
        b.length,
      ]);
    }
    await ds.query(`INSERT INTO repositories (registry_id, name) VALUES ($1, 'lib/app')`, [srcId]);
    const digest = digestOf(img.manifest);
    await ds.query(
      `INSERT INTO manifests (registry_id, digest, media_type, size, content) VALUES ($1, $2, $3, $4, $5)`,
      [srcId, digest, MediaTypes.OciManifest, img.manifest.length, img.manifest],
    );
    await ds.query(
      `INSERT INTO repository_manifests (repository_id, digest, registry_id) SELECT id, $2, $1 FROM repositories WHERE registry_id = $1`,
      [srcId, digest],
    );
    await ds.query(
      `INSERT INTO tags (repository_id, name, registry_id, manifest_digest) SELECT id, 'v1', $1, $2 FROM repositories WHERE registry_id = $1`,
      [srcId, digest],
    );

    const body = {
      source: { resourceId: `${P}/registries/${src}`, sourceImage: 'lib/app:v1' },
      targetTags: ['copied/app:v1'],
      mode: 'NoForce',
    };
    const started = await call('POST', `${P}/registries/${reg}/importImage?${V}`, body);
    expect(started.status).toBe(202);
    expect((await waitLocation(started.headers.get('location'))).status).toBe(200);
    expect(await tagDigest(reg, 'copied/app', 'v1')).toBe(digest);
    // The import is a push: its event committed with the rows (the outbox), in ACR's payload.
    type Pushed = { data: { action: string; target: Record<string, unknown>; request: Record<string, string> } };
    const pushEvents = async (): Promise<Pushed[]> =>
      (
        (await ds.query(
          `SELECT o.payload FROM outbox_events o JOIN registries r ON r.id::text = o.payload->>'registryId'
            WHERE r.name = $1 AND o.payload->>'type' = 'ImagePushed' ORDER BY o.seq`,
          [reg],
        )) as Array<{ payload: Pushed }>
      ).map((r) => r.payload);
    const [pushed] = await pushEvents();
    expect(pushed?.data).toMatchObject({
      action: 'push',
      target: { digest, repository: 'copied/app', tag: 'v1', size: img.manifest.length, length: img.manifest.length, mediaType: MediaTypes.OciManifest },
      request: { method: 'POST', useragent: 'berth-import' },
    });
    expect(pushed?.data.request['host']).toMatch(new RegExp(`^${reg}\\.`));
    expect(await pushEvents()).toHaveLength(1);
    const usages = await call('GET', `${P}/registries/${reg}/listUsages?${V}`);
    const size = usages
      .json<{ value: Array<{ name: string; currentValue: number }> }>()
      .value.find((u) => u.name === 'Size');
    expect(size?.currentValue).toBe(img.config.length + img.layer.length + img.manifest.length);
    const [target] = (await ds.query(`SELECT id FROM registries WHERE name = $1`, [reg])) as Array<{ id: string }>;
    expect(
      await stores.get('eastus').stat({ registryId: target?.id ?? '', digest: digestOf(img.layer) }),
    ).toMatchObject({ size: img.layer.length });
    const again = await call('POST', `${P}/registries/${reg}/importImage?${V}`, body);
    expect(again.status).toBe(409);
    expect(code(again)).toBe('ImportTagAlreadyExists');
    const forced = await call('POST', `${P}/registries/${reg}/importImage?${V}`, { ...body, mode: 'Force' });
    expect((await waitLocation(forced.headers.get('location'))).status).toBe(200);
    expect(await pushEvents()).toHaveLength(2);
    const missing = await call('POST', `${P}/registries/${reg}/importImage?${V}`, {
      ...body,
      source: { ...body.source, sourceImage: 'lib/none:v1' },
      targetTags: ['x:y'],
    });
    const failed = await waitLocation(missing.headers.get('location'));
    expect(failed.status).toBe(400);
    expect(code(failed)).toBe('ImportSourceNotFound');
    expect(await tagDigest(reg, 'x', 'y')).toBeUndefined();
    expect((await call('DELETE', `${P}/registries/${src}?${V}`)).status).toBe(202);
  });

  it('imports an image from an OCI registry over HTTP, following a Bearer token challenge', async () => {
    const img = image('remote');
    const digest = digestOf(img.manifest);
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        const ok =
          req.headers.authorization === `Basic ${Buffer.from('puller:s3cret').toString('base64')}` &&
          url.searchParams.get('scope') === 'repository:team/tool:pull';
        res
          .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
          .end(ok ? JSON.stringify({ token: 'tkn' }) : '{}');
        return;
      }
      if (req.headers.authorization !== 'Bearer tkn') {
        const port = (server.address() as AddressInfo).port;
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="fake",scope="repository:team/tool:pull"`,
          })
          .end();
        return;
      }
      const blobs = new Map([img.config, img.layer].map((b) => [`/storage/${digestOf(b)}`, b]));
      if (url.pathname === '/v2/team/tool/manifests/2.0')
        res.writeHead(200, { 'content-type': MediaTypes.OciManifest }).end(img.manifest);
      // Blobs redirect to "object storage", as many registries do.
      else if (url.pathname.startsWith('/v2/team/tool/blobs/'))
        res.writeHead(307, { location: `/storage/${url.pathname.split('/').pop() ?? ''}` }).end();
      else if (blobs.has(url.pathname)) res.writeHead(200).end(blobs.get(url.pathname));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const started = await call('POST', `${P}/registries/${reg}/importImage?${V}`, {
        source: {
          registryUri: `127.0.0.1:${port}`,
          sourceImage: 'team/tool:2.0',
          credentials: { username: 'puller', password: 's3cret' },
        },
        untaggedTargetRepositories: ['mirror/tool'],
        targetTags: ['mirror/tool:stable'],
      });
      expect(started.status).toBe(202);
      expect((await waitLocation(started.headers.get('location'))).status).toBe(200);
      expect(await tagDigest(reg, 'mirror/tool', 'stable')).toBe(digest);
      const [m] = (await ds.query(`SELECT architecture, os FROM manifests WHERE digest = $1`, [digest])) as Array<{
        architecture: string;
        os: string;
      }>;
      expect(m).toEqual({ architecture: 'arm64', os: 'linux' });
      const ssrf = await call('POST', `${P}/registries/${reg}/importImage?${V}`, {
        source: { registryUri: 'http://169.254.169.254', sourceImage: 'x/y:1' },
        targetTags: ['mirror/meta:1'],
      });
      expect(ssrf.status).toBe(400);
      expect(code(ssrf)).toBe('InvalidImportSource');
      const denied = await call('POST', `${P}/registries/${reg}/importImage?${V}`, {
        source: {
          registryUri: `127.0.0.1:${port}`,
          sourceImage: 'team/tool:2.0',
          credentials: { username: 'puller', password: 'wrong' },
        },
        targetTags: ['mirror/tool:other'],
      });
      const failed = await waitLocation(denied.headers.get('location'));
      expect(code(failed)).toBe('ImportSourceUnauthorized');
    } finally {
      server.close();
    }
  });

  it('serves its OpenAPI document without authentication', async () => {
    const doc = await call('GET', '/openapi/management.json', undefined, { as: null });
    expect(doc.status).toBe(200);
    expect(doc.json()['openapi']).toMatch(/^3\./);
  });

  it('answers unknown paths and methods with ARM errors', async () => {
    const unknown = await call('GET', `${P}/registries/${reg}/cacheRulez/x?${V}`);
    expect(unknown.status).toBe(404);
    expect(code(unknown)).toBe('InvalidResourceType');
    const method = await call('POST', `${P}/registries/${reg}?${V}`, {});
    expect(method.status).toBe(405);
    const missing = await call('GET', `${P}/registries/nosuchreg1?${V}`);
    expect(missing.status).toBe(404);
    expect(code(missing)).toBe('ResourceNotFound');
  });

  it('deletes the registry with all its data; then it is gone and the name is free', async () => {
    const [row] = (await ds.query(`SELECT id FROM registries WHERE name = $1`, [reg])) as Array<{ id: string }>;
    const stored = { registryId: row?.id ?? '', digest: digestOf(image('remote').layer) };
    const store = svc.app.get<BlobStores>(BLOB_STORES).get('eastus');
    expect(await store.stat(stored)).toBeDefined();
    const del = await call('DELETE', `${P}/registries/${reg}?${V}`);
    expect(del.status).toBe(202);
    const op = await waitOperation(del.headers.get('azure-asyncoperation') ?? '');
    expect(op['status']).toBe('Succeeded');
    expect((await call('GET', `${P}/registries/${reg}?${V}`)).status).toBe(404);
    expect(
      (await ds.query(`SELECT 1 FROM scope_maps s JOIN registries r ON r.id = s.registry_id WHERE r.name = $1`, [reg]))
        .length,
    ).toBe(0);
    expect(await store.stat(stored)).toBeUndefined();
    expect((await ds.query(`SELECT 1 FROM blobs WHERE registry_id = $1`, [stored.registryId])).length).toBe(0);
    const check = await call(
      'POST',
      `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability?${V}`,
      {
        name: reg,
        type: 'Microsoft.ContainerRegistry/registries',
      },
    );
    expect(check.json()).toEqual({ nameAvailable: true });
    expect((await call('DELETE', `${P}/registries/${reg}?${V}`)).status).toBe(204);
  });
});
