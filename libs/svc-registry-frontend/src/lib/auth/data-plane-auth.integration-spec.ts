import { BUILT_IN_ROLES, hashSecret, type AccessEntry, type Subject } from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import { RegistryDirectory, TokenIssuer, type RegistryFacts } from '@berth/identity';
import { MediaTypes, digestOf } from '@berth/oci';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import {
  basicAuth,
  freePort,
  migratedDatabase,
  seedServicePrincipal,
  stackEnv,
  subscriptionScope,
  type TestPrincipal,
} from '@berth/testing';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { REGISTRY_FRONTEND_NEEDS, RegistryFrontendModule } from '../registry-frontend.module';

jest.setTimeout(120_000);

const IDENTITY_READS = 6;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The refusals issue #4 lists, against a real frontend on the real stack, with tokens issued by the real issuer. */
describe('data-plane authentication and authorization', () => {
  let svc: RunningService;
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  let dataDir: string;
  let issuer: TokenIssuer;
  let directory: RegistryDirectory;
  const reg: Record<string, RegistryFacts> = {};
  let owner: TestPrincipal;
  let puller: TestPrincipal;
  let otherTenant: TestPrincipal;
  let manifestDigest = '';

  async function tenancy(tenant: string): Promise<{ tenantId: string; subscriptionId: string; rgId: string }> {
    const [t] = (await ds.query(`INSERT INTO tenants (display_name) VALUES ($1) RETURNING id`, [tenant])) as Array<{
      id: string;
    }>;
    const [s] = (await ds.query(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [
      t?.id,
    ])) as Array<{ id: string }>;
    const [g] = (await ds.query(
      `INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'rg', 'eastus') RETURNING id`,
      [s?.id],
    )) as Array<{ id: string }>;
    return { tenantId: t?.id ?? '', subscriptionId: s?.id ?? '', rgId: g?.id ?? '' };
  }

  async function registry(
    name: string,
    t: { subscriptionId: string; rgId: string },
    sku: 'Basic' | 'Standard' | 'Premium',
    flags: { anonymous?: boolean; admin?: boolean } = {},
  ): Promise<void> {
    await ds.query(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku, anonymous_pull_enabled, admin_user_enabled)
       VALUES ($1, $2, $3, $4, 'eastus', $5, $6, $7)`,
      [t.subscriptionId, t.rgId, name, `${name}.berth.localhost`, sku, flags.anonymous ?? false, flags.admin ?? false],
    );
    const facts = await directory.byName(name);
    if (!facts) throw new Error(`registry ${name} not visible`);
    reg[name] = facts;
  }

  function call(
    method: string,
    p: string,
    host: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Res> {
    const url = new URL(svc.url);
    return new Promise<Res>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, method, path: p, headers: { host, ...headers }, timeout: 15_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  const host = (name: string): string => `${name}.berth.localhost`;
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const code = (r: Res): string | undefined =>
    (JSON.parse(r.body) as { errors: Array<{ code: string }> }).errors[0]?.code;

  async function accessToken(name: string, subject: Subject, access: AccessEntry[], now?: Date): Promise<string> {
    return (await issuer.issueRegistryAccessToken(subject, reg[name] as RegistryFacts, access, now)).token;
  }

  async function pushImage(name: string, repo: string, auth: string): Promise<string> {
    const config = Buffer.from(
      `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":"${repo}"}`,
    );
    for (const blob of [config]) {
      const r = await call(
        'POST',
        `/v2/${repo}/blobs/uploads/?digest=${digestOf(blob)}`,
        host(name),
        { authorization: auth, 'content-type': 'application/octet-stream' },
        blob,
      );
      expect(r.status).toBe(201);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { mediaType: MediaTypes.OciConfig, digest: digestOf(config), size: config.length },
        layers: [],
      }),
    );
    const put = await call(
      'PUT',
      `/v2/${repo}/manifests/v1`,
      host(name),
      { authorization: auth, 'content-type': MediaTypes.OciManifest },
      manifest,
    );
    expect(put.status).toBe(201);
    return digestOf(manifest);
  }

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'dpauth');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-dpauth-'));
    svc = await startService(
      {
        name: 'registry-frontend',
        mode: 'distributed',
        rootModule: (config, logger) =>
          serviceRoot(config, logger, { needs: REGISTRY_FRONTEND_NEEDS, modules: [RegistryFrontendModule] }),
      },
      {
        ...env,
        BERTH_DATABASE_URL: db.url,
        BERTH_PORT: String(await freePort()),
        BERTH_HOST: '127.0.0.1',
        BERTH_LOG_LEVEL: 'error',
        BERTH_REGIONS: 'eastus',
        BERTH_BLOB_DRIVER: 'fs',
        BERTH_DATA_DIR: dataDir,
        BERTH_DEFAULT_REGISTRY: 'authdefault',
        BERTH_PUBLIC_URL: 'http://berth.test:5000',
        // Standard (only `authanon`) gets a tiny per-identity read rate, to see identities counted apart.
        BERTH_TIER_OVERRIDES: JSON.stringify({ Standard: { throttle: { read: { perIdentity: IDENTITY_READS } } } }),
      },
    );
    ds = svc.app.get<DataSource>(DATA_SOURCE);
    issuer = svc.app.get(TokenIssuer);
    directory = svc.app.get(RegistryDirectory);
    const a = await tenancy('tenant-a');
    const b = await tenancy('tenant-b');
    await registry('authregA', a, 'Premium', { admin: true });
    await registry('authregB', a, 'Premium');
    await registry('authanon', a, 'Standard', { anonymous: true });
    await registry('authbasic', a, 'Basic', { anonymous: true });
    await registry('authother', b, 'Premium');
    owner = await seedServicePrincipal(ds, {
      tenantId: a.tenantId,
      role: 'Owner',
      scope: subscriptionScope(a.subscriptionId),
      subscriptionId: a.subscriptionId,
    });
    puller = await seedServicePrincipal(ds, {
      tenantId: a.tenantId,
      role: 'AcrPull',
      scope: `/subscriptions/${a.subscriptionId}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/authregA`,
      subscriptionId: a.subscriptionId,
      registryId: reg['authregA']?.id,
    });
    otherTenant = await seedServicePrincipal(ds, {
      tenantId: b.tenantId,
      role: 'Owner',
      scope: subscriptionScope(b.subscriptionId),
      subscriptionId: b.subscriptionId,
    });
    manifestDigest = await pushImage('authregA', 'team/x', owner.basic);
    await pushImage('authanon', 'public/app', owner.basic);
    await pushImage('authbasic', 'public/app', owner.basic);
    await pushImage('authother', 'secret/app', otherTenant.basic);
    // The admin user (password + password2) and a repository token limited to team/x, one enabled and one disabled.
    for (const [n, pw] of [
      ['password', 'admin-pass-1'],
      ['password2', 'admin-pass-2'],
    ] as const) {
      await ds.query(
        `INSERT INTO admin_credentials (registry_id, name, password_hash, encrypted_value) VALUES ($1, $2, $3, 'unused')`,
        [reg['authregA']?.id, n, await hashSecret(pw)],
      );
    }
    const [map] = (await ds.query(
      `INSERT INTO scope_maps (registry_id, name, actions) VALUES ($1, 'xread', $2) RETURNING id`,
      [reg['authregA']?.id, ['repositories/team/x/content/read', 'repositories/team/x/metadata/read']],
    )) as Array<{ id: string }>;
    for (const [name, status] of [
      ['ci-reader', 'enabled'],
      ['ci-off', 'disabled'],
    ] as const) {
      await ds.query(
        `INSERT INTO tokens (registry_id, name, scope_map_id, status, password1_hash) VALUES ($1, $2, $3, $4, $5)`,
        [reg['authregA']?.id, name, map?.id, status, await hashSecret(`${name}-secret`)],
      );
    }
  });

  afterAll(async () => {
    await svc?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('challenges exactly as ACR does, with the scope the request needs', async () => {
    const base = await call('GET', '/v2/', host('authregA'));
    expect(base.status).toBe(401);
    expect(base.headers['www-authenticate']).toBe(
      'Bearer realm="http://authregA.berth.localhost/oauth2/token",service="authrega.berth.localhost"',
    );
    const pull = await call('GET', '/v2/team/x/manifests/v1', host('authregA'));
    expect(pull.status).toBe(401);
    expect(pull.headers['www-authenticate']).toBe(
      'Bearer realm="http://authregA.berth.localhost/oauth2/token",service="authrega.berth.localhost",scope="repository:team/x:pull"',
    );
    expect(JSON.parse(pull.body)).toEqual({
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required',
          detail: [{ Type: 'repository', Name: 'team/x', Action: 'pull' }],
        },
      ],
    });
    const push = await call('POST', '/v2/team/x/blobs/uploads/', host('authregA'));
    expect(push.headers['www-authenticate']).toContain('scope="repository:team/x:pull,push"');
    const catalog = await call('GET', '/acr/v1/_catalog', host('authregA'));
    expect(catalog.status).toBe(401);
    expect(catalog.headers['www-authenticate']).toContain('scope="registry:catalog:*"');
  });

  it('accepts Basic credentials of a principal, the admin user (both passwords) and a repository token', async () => {
    expect(
      (await call('GET', '/v2/team/x/manifests/v1', host('authregA'), { authorization: owner.basic })).status,
    ).toBe(200);
    expect(
      (await call('GET', '/v2/team/x/manifests/v1', host('authregA'), { authorization: puller.basic })).status,
    ).toBe(200);
    for (const pw of ['admin-pass-1', 'admin-pass-2']) {
      expect(
        (await call('GET', '/v2/_catalog', host('authregA'), { authorization: basicAuth('authregA', pw) })).status,
      ).toBe(200);
    }
    expect(
      (
        await call('GET', '/v2/team/x/manifests/v1', host('authregA'), {
          authorization: basicAuth('ci-reader', 'ci-reader-secret'),
        })
      ).status,
    ).toBe(200);
  });

  it('refuses a disabled token, a disabled admin user and wrong passwords', async () => {
    const off = await call('GET', '/v2/team/x/manifests/v1', host('authregA'), {
      authorization: basicAuth('ci-off', 'ci-off-secret'),
    });
    expect(off.status).toBe(401);
    expect(code(off)).toBe('UNAUTHORIZED');
    // authregB has no admin user enabled: its name with any password is refused.
    expect(
      (await call('GET', '/v2/_catalog', host('authregB'), { authorization: basicAuth('authregB', 'admin-pass-1') }))
        .status,
    ).toBe(401);
    expect(
      (await call('GET', '/v2/_catalog', host('authregA'), { authorization: basicAuth(owner.clientId, 'wrong') }))
        .status,
    ).toBe(401);
  });

  it('denies a Basic caller more than its role allows (403) and a token more than its scope map', async () => {
    const push = await call('POST', '/v2/team/x/blobs/uploads/', host('authregA'), { authorization: puller.basic });
    expect(push.status).toBe(403);
    expect(code(push)).toBe('DENIED');
    const other = await call('GET', '/v2/team/y/tags/list', host('authregA'), {
      authorization: basicAuth('ci-reader', 'ci-reader-secret'),
    });
    expect(other.status).toBe(403);
    const del = await call('DELETE', `/v2/team/x/manifests/${manifestDigest}`, host('authregA'), {
      authorization: basicAuth('ci-reader', 'ci-reader-secret'),
    });
    expect(del.status).toBe(403);
    // Nothing changed.
    expect(
      (await call('GET', `/v2/team/x/manifests/${manifestDigest}`, host('authregA'), { authorization: owner.basic }))
        .status,
    ).toBe(200);
  });

  it('accepts a registry access token only for its registry, its repositories and its actions', async () => {
    const subject: Subject = {
      kind: 'principal',
      principalId: owner.principalId,
      tenantId: reg['authregA']?.tenantId ?? '',
    };
    const pullX = await accessToken('authregA', subject, [{ type: 'repository', name: 'team/x', actions: ['pull'] }]);
    expect((await call('GET', '/v2/team/x/manifests/v1', host('authregA'), bearer(pullX))).status).toBe(200);

    const onB = await call('GET', '/v2/team/x/manifests/v1', host('authregB'), bearer(pullX));
    expect(onB.status).toBe(401);
    expect(onB.headers['www-authenticate']).toContain('error="invalid_token"');

    const onY = await call('GET', '/v2/team/y/manifests/v1', host('authregA'), bearer(pullX));
    expect(onY.status).toBe(401);
    expect(onY.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(onY.headers['www-authenticate']).toContain('scope="repository:team/y:pull"');

    const push = await call('POST', '/v2/team/x/blobs/uploads/', host('authregA'), bearer(pullX));
    expect(push.status).toBe(401);
    expect(push.headers['www-authenticate']).toContain('error="insufficient_scope"');
  });

  it('stops accepting a token that was accepted (and remembered) once it has expired', async () => {
    const subject: Subject = {
      kind: 'principal',
      principalId: owner.principalId,
      tenantId: reg['authregA']?.tenantId ?? '',
    };
    // Issued so that it is past `exp` but within the 30 s clock tolerance for about 3 more seconds.
    const lifetimeSec = 600;
    const issuedAt = new Date(Date.now() - (lifetimeSec + 30 - 3) * 1000);
    const dying = await accessToken('authregA', subject, [{ type: 'repository', name: 'team/x', actions: ['pull'] }], issuedAt);
    const first = await call('GET', '/v2/team/x/manifests/v1', host('authregA'), bearer(dying));
    expect(first.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const later = await call('GET', '/v2/team/x/manifests/v1', host('authregA'), bearer(dying));
    expect([later.status, later.headers['www-authenticate']]).toEqual([401, expect.stringContaining('error="invalid_token"')]);
  });

  it('refuses expired, tampered, alg=none, foreign-key and unknown-kid tokens', async () => {
    const subject: Subject = {
      kind: 'principal',
      principalId: owner.principalId,
      tenantId: reg['authregA']?.tenantId ?? '',
    };
    const access = [{ type: 'repository', name: 'team/x', actions: ['pull'] }];
    const expired = await accessToken('authregA', subject, access, new Date(Date.now() - 3600_000));
    const good = await accessToken('authregA', subject, access);
    const [h, p, s] = good.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(
      JSON.stringify({
        ...claims,
        access: [{ type: 'repository', name: 'team/x', actions: ['pull', 'push', 'delete'] }],
      }),
    ).toString('base64url');
    const tampered = `${h}.${widened}.${s}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const kid = (JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as { kid: string }).kid;
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(privateKey);
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'not-a-berth-key' })
      .sign(privateKey);
    const embedded = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    for (const [label, token] of Object.entries({
      expired,
      tampered,
      none,
      foreign,
      unknownKid,
      embedded,
      garbage: 'a.b.c',
    })) {
      const r = await call('GET', '/v2/team/x/manifests/v1', host('authregA'), bearer(token));
      expect([label, r.status, r.headers['www-authenticate']]).toEqual([
        label,
        401,
        expect.stringContaining('error="invalid_token"'),
      ]);
    }
  });

  it('never reveals whether another tenant’s repository exists', async () => {
    const existing = await call('GET', '/v2/secret/app/manifests/v1', host('authother'), {
      authorization: owner.basic,
    });
    const missing = await call('GET', '/v2/no/such/manifests/v1', host('authother'), { authorization: owner.basic });
    expect(existing.status).toBe(401);
    expect(missing.status).toBe(401);
    expect(existing.body.replace('secret/app', 'X')).toBe(missing.body.replace('no/such', 'X'));
    // A token of tenant A's registry is worthless on tenant B's, whatever it names.
    const t = await accessToken(
      'authregA',
      { kind: 'principal', principalId: owner.principalId, tenantId: reg['authregA']?.tenantId ?? '' },
      [{ type: 'repository', name: 'secret/app', actions: ['pull'] }],
    );
    expect((await call('GET', '/v2/secret/app/manifests/v1', host('authother'), bearer(t))).status).toBe(401);
  });

  it('allows anonymous pull and listing where the registry allows it, never on Basic, never push', async () => {
    expect((await call('GET', '/v2/public/app/manifests/v1', host('authanon'))).status).toBe(200);
    expect((await call('GET', '/v2/_catalog', host('authanon'))).status).toBe(200);
    expect((await call('POST', '/v2/public/app/blobs/uploads/', host('authanon'))).status).toBe(401);
    expect((await call('DELETE', `/v2/public/app/manifests/v1`, host('authanon'))).status).toBe(401);
    expect((await call('GET', '/v2/public/app/manifests/v1', host('authbasic'))).status).toBe(401);
  });

  it('throttles failed logins per user and address with 429 and Retry-After', async () => {
    const user = randomUUID();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      statuses.push(
        (await call('GET', '/v2/_catalog', host('authregB'), { authorization: basicAuth(user, 'nope') })).status,
      );
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    const throttled = await call('GET', '/v2/_catalog', host('authregB'), { authorization: basicAuth(user, 'nope') });
    expect(throttled.status).toBe(429);
    expect(code(throttled)).toBe('TOOMANYREQUESTS');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('role assignments never cross registries: a role on registry A gives nothing on B', async () => {
    expect(BUILT_IN_ROLES.AcrPull).toBeDefined();
    const r = await call('GET', '/v2/_catalog', host('authregB'), { authorization: puller.basic });
    expect(r.status).toBe(403);
  });

  it('counts each identity’s request rate apart (429 with Retry-After for one, the others unaffected)', async () => {
    // The anonymous identity already read twice in this registry; the owner has not.
    const statuses: number[] = [];
    for (let i = 0; i < IDENTITY_READS + 1; i += 1) {
      statuses.push(
        (await call('GET', '/v2/public/app/tags/list', host('authanon'), { authorization: owner.basic })).status,
      );
    }
    expect(statuses).toEqual([...Array<number>(IDENTITY_READS).fill(200), 429]);
    const throttled = await call('GET', '/v2/public/app/tags/list', host('authanon'), { authorization: owner.basic });
    expect(code(throttled)).toBe('TOOMANYREQUESTS');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect((await call('GET', '/v2/public/app/tags/list', host('authanon'))).status).toBe(200);
  });

  it('a mount needs pull on its source: the challenge names both scopes, a token with both mounts', async () => {
    const subject: Subject = {
      kind: 'principal',
      principalId: owner.principalId,
      tenantId: reg['authregA']?.tenantId ?? '',
    };
    const config = Buffer.from(
      `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":"team/x"}`,
    );
    const mountPath = `/v2/team/copy/blobs/uploads/?mount=${digestOf(config)}&from=team/x`;
    const pushOnly = await accessToken('authregA', subject, [
      { type: 'repository', name: 'team/copy', actions: ['pull', 'push'] },
    ]);
    const refused = await call('POST', mountPath, host('authregA'), bearer(pushOnly));
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain(
      'scope="repository:team/copy:pull,push repository:team/x:pull"',
    );
    const both = await accessToken('authregA', subject, [
      { type: 'repository', name: 'team/copy', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/x', actions: ['pull'] },
    ]);
    const mounted = await call('POST', mountPath, host('authregA'), bearer(both));
    expect(mounted.status).toBe(201);
  });
});
