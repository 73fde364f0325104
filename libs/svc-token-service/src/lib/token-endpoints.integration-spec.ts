import { freePort, migratedDatabase, pollUntil, stackEnv } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  basicHeader,
  claimsOf,
  seedTokenWorld,
  startTokenService,
  type HttpsResponse,
  type TokenServiceUnderTest,
  type TokenWorld,
} from './token-service.test-util';

jest.setTimeout(120_000);

const SUFFIX = 'tokens.test';

interface RegistryErrorBody {
  errors: Array<{ code: string; message: string; detail: unknown }>;
}

/** Every endpoint of token-service over real HTTPS, on the real Postgres and Redis. */
describe('token-service endpoints', () => {
  let t: TokenServiceUnderTest;
  let w: TokenWorld;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'tokens');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-tokens-'));
    t = await startTokenService({ ...env, BERTH_DATABASE_URL: db.url, BERTH_CACHE: 'redis' }, await freePort(), dataDir);
    w = await seedTokenWorld(t.ds, SUFFIX);
  });

  afterAll(async () => {
    await t?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const registryError = (res: HttpsResponse, status: number, code: string) => {
    expect({ status: res.status, code: res.json<RegistryErrorBody>().errors[0]?.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toMatch(/application\/json/);
  };
  const entraError = (res: HttpsResponse, status: number, error: string, aadsts: number) => {
    const body = res.json<Record<string, unknown>>();
    expect({ status: res.status, error: body['error'], codes: body['error_codes'] }).toEqual({ status, error, codes: [aadsts] });
    expect(body['error_description']).toMatch(new RegExp(`^AADSTS${aadsts}: `));
    expect(body['timestamp']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(body['trace_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(body['correlation_id']).toMatch(/^[0-9a-f-]{36}$/);
  };
  const identityToken = async (resource = t.url, sp = w.sp, tenant = w.tenantId) => {
    const res = await t.call('POST', `/${tenant}/oauth2/v2.0/token`, {
      form: { grant_type: 'client_credentials', client_id: sp.clientId, client_secret: sp.secret, scope: `${resource}/.default` },
    });
    expect(res.status).toBe(200);
    return res.json<{ access_token: string }>().access_token;
  };
  const randomIp = () => `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

  describe('identity endpoint', () => {
    it('serves the OpenID configuration and the keys of a tenant', async () => {
      const res = await t.call('GET', `/${w.tenantId}/v2.0/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({
        issuer: `${t.url}/${w.tenantId}/v2.0`,
        token_endpoint: `${t.url}/${w.tenantId}/oauth2/v2.0/token`,
        jwks_uri: `${t.url}/${w.tenantId}/discovery/v2.0/keys`,
        authorization_endpoint: `${t.url}/${w.tenantId}/oauth2/v2.0/authorize`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
      const keys = await t.call('GET', `/${w.tenantId}/discovery/v2.0/keys`);
      const wellKnown = await t.call('GET', '/.well-known/jwks.json');
      expect(keys.json()).toEqual(wellKnown.json());
      const [key] = wellKnown.json<{ keys: Array<Record<string, unknown>> }>().keys;
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key?.['d']).toBeUndefined();
    });

    it('refuses unknown tenants in the Entra error shape', async () => {
      for (const tenant of ['common', '6b0a1c1e-0000-4000-8000-000000000000', 'x'.repeat(40)]) {
        entraError(await t.call('GET', `/${tenant}/v2.0/.well-known/openid-configuration`), 400, 'invalid_tenant', 90002);
      }
      entraError(await t.call('GET', `/common/discovery/v2.0/keys`), 400, 'invalid_tenant', 90002);
    });

    it('issues Entra-shaped app tokens with client_secret_post and client_secret_basic', async () => {
      const post = await t.call('POST', `/${w.tenantId}/oauth2/v2.0/token?api-version=1`, {
        form: { grant_type: 'client_credentials', client_id: w.sp.clientId, client_secret: w.sp.secret, scope: `${t.url}/.default` },
      });
      expect(post.status).toBe(200);
      expect(post.headers['cache-control']).toBe('no-store');
      const body = post.json<{ token_type: string; expires_in: number; access_token: string }>();
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600 });
      const claims = claimsOf(body.access_token);
      expect(claims).toMatchObject({
        iss: `${t.url}/${w.tenantId}/v2.0`,
        aud: t.url,
        sub: w.sp.id,
        oid: w.sp.id,
        tid: w.tenantId,
        appid: w.sp.clientId,
        azp: w.sp.clientId,
        idtyp: 'app',
        ver: '2.0',
        berth_kind: 'identity',
      });
      expect(Number(claims['exp']) - Number(claims['iat'])).toBe(3600);

      const basic = await t.call('POST', `/${w.tenantId}/oauth2/v2.0/token`, {
        headers: { authorization: basicHeader(encodeURIComponent(w.sp.clientId), encodeURIComponent(w.sp.secret)) },
        form: { grant_type: 'client_credentials', scope: 'https://management.azure.com//.default' },
      });
      expect(basic.status).toBe(200);
      expect(claimsOf(basic.json<{ access_token: string }>().access_token)['aud']).toBe('https://management.azure.com/');
    });

    it('counts management tokens issued and refused on /metrics (berth.token.issued kind=management)', async () => {
      const series = async (name: string, labels: Record<string, string>): Promise<number> => {
        const { text } = await t.call('GET', '/metrics');
        const line = text
          .split('\n')
          .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
        return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
      };
      const issued = { berth_token_kind: 'management', berth_grant_type: 'client_credentials' };
      const refused = { berth_grant_type: 'client_credentials', berth_reason: 'invalid_credentials' };
      const [issuedBefore, refusedBefore] = [await series('berth_token_issued_total', issued), await series('berth_token_failures_total', refused)];
      await identityToken();
      await identityToken();
      const bad = await t.call('POST', `/${w.tenantId}/oauth2/v2.0/token`, {
        headers: { 'x-forwarded-for': randomIp() },
        form: { grant_type: 'client_credentials', client_id: w.sp.clientId, client_secret: 'wrong', scope: `${t.url}/.default` },
      });
      expect(bad.status).toBe(401);
      expect(await series('berth_token_issued_total', issued)).toBe(issuedBefore + 2);
      expect(await series('berth_token_failures_total', refused)).toBe(refusedBefore + 1);
      // Registry tokens are told apart by their kind: these did not move the management series.
      expect(await series('berth_token_issued_total', { berth_token_kind: 'access', berth_grant_type: 'client_credentials' })).toBe(0);
    });

    it('refuses bad client-credentials requests with Entra error codes', async () => {
      const token = (form: Record<string, string>, headers: Record<string, string> = {}, tenant = w.tenantId) =>
        t.call('POST', `/${tenant}/oauth2/v2.0/token`, { form, headers: { 'x-forwarded-for': randomIp(), ...headers } });
      const good = { grant_type: 'client_credentials', client_id: w.sp.clientId, client_secret: w.sp.secret, scope: `${t.url}/.default` };
      entraError(await token({ ...good, client_secret: 'wrong' }), 401, 'invalid_client', 7000215);
      entraError(await token({ ...good, client_id: w.otherSp.clientId, client_secret: w.otherSp.secret }), 401, 'invalid_client', 7000215);
      entraError(await token(good, {}, w.otherTenantId), 401, 'invalid_client', 7000215);
      entraError(await token({ ...good, grant_type: 'password' }), 400, 'unsupported_grant_type', 70003);
      entraError(await token({ ...good, scope: 'User.Read' }), 400, 'invalid_scope', 1002012);
      entraError(await token({ ...good, scope: 'https://graph.microsoft.com/.default' }), 400, 'invalid_resource', 500011);
      const { client_id: _c, ...noClient } = good;
      entraError(await token(noClient), 400, 'invalid_request', 900144);
      const { client_secret: _s, ...noSecret } = good;
      entraError(await token(noSecret), 401, 'invalid_client', 7000218);
      entraError(await token(good, { authorization: basicHeader(w.sp.clientId, w.sp.secret) }), 400, 'invalid_request', 90014);
      const json = await t.call('POST', `/${w.tenantId}/oauth2/v2.0/token`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(good),
      });
      entraError(json, 400, 'invalid_request', 900144);
      // The client's correlation id is echoed.
      const correlated = await token({ ...good, client_secret: 'x' }, { 'client-request-id': '0f5a7d1e-1111-4222-8333-944455556666' });
      expect(correlated.json<Record<string, unknown>>()['correlation_id']).toBe('0f5a7d1e-1111-4222-8333-944455556666');
    });

    it('refuses a disabled principal, and throttles repeated failures with Retry-After', async () => {
      await t.ds.query(`UPDATE principals SET enabled = false WHERE id = $1`, [w.otherSp.id]);
      await t.ds.query(`UPDATE principals SET tenant_id = $2 WHERE id = $1`, [w.otherSp.id, w.tenantId]);
      try {
        const res = await t.call('POST', `/${w.tenantId}/oauth2/v2.0/token`, {
          form: { grant_type: 'client_credentials', client_id: w.otherSp.clientId, client_secret: w.otherSp.secret, scope: `${t.url}/.default` },
        });
        entraError(res, 400, 'unauthorized_client', 7000112);
      } finally {
        await t.ds.query(`UPDATE principals SET enabled = true, tenant_id = $2 WHERE id = $1`, [w.otherSp.id, w.otherTenantId]);
      }
      const ip = randomIp();
      const attempt = (secret: string) =>
        t.call('POST', `/${w.tenantId}/oauth2/v2.0/token`, {
          headers: { 'x-forwarded-for': ip },
          form: { grant_type: 'client_credentials', client_id: w.sp.clientId, client_secret: secret, scope: `${t.url}/.default` },
        });
      for (let i = 0; i < 10; i++) expect((await attempt('wrong')).status).toBe(401);
      const locked = await attempt(w.sp.secret);
      entraError(locked, 400, 'invalid_grant', 50053);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  describe('registry tokens', () => {
    const get = (query: string, headers: Record<string, string> = {}) =>
      t.call('GET', `/oauth2/token?${query}`, { headers: { 'x-forwarded-for': randomIp(), ...headers } });

    it('GET with Basic credentials grants the intersection, bound to the registry', async () => {
      const res = await get(
        `service=${w.main.login}&scope=repository:app:pull,push&scope=registry:catalog:*&scope=repository:other:delete&api-version=2021-07-01`,
        { authorization: basicHeader(w.sp.clientId, w.sp.secret) },
      );
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const claims = claimsOf(res.json<{ access_token: string }>().access_token);
      expect(claims).toMatchObject({
        iss: t.url,
        aud: w.main.login,
        sub: `principal:${w.sp.id}`,
        rid: w.main.id,
        tenant: w.tenantId,
        grant_type: 'access_token',
        access: [
          { type: 'repository', name: 'app', actions: ['pull'] },
          { type: 'registry', name: 'catalog', actions: ['*'] },
        ],
      });
      expect(res.json<{ expires_in: number }>().expires_in).toBe(600);
    });

    it('GET finds the registry from the Host header when no service is given, and grants the admin user everything', async () => {
      const res = await get('scope=repository:a/b:push,delete', { host: `${w.main.login}:443`, authorization: basicHeader(w.main.name, w.adminPassword) });
      expect(res.status).toBe(200);
      expect(claimsOf(res.json<{ access_token: string }>().access_token)).toMatchObject({
        sub: `admin:${w.main.id}`,
        access: [{ type: 'repository', name: 'a/b', actions: ['push', 'delete'] }],
      });
    });

    it('GET without credentials: anonymous pull where allowed, 401 with a Basic challenge elsewhere', async () => {
      const open = await get(`service=${w.open.login}&scope=repository:app:pull,push`);
      expect(open.status).toBe(200);
      expect(claimsOf(open.json<{ access_token: string }>().access_token)).toMatchObject({
        sub: 'anonymous',
        access: [{ type: 'repository', name: 'app', actions: ['pull'] }],
      });
      for (const login of [w.main.login, w.basic.login, `nosuch.${SUFFIX}`]) {
        const res = await get(`service=${login}&scope=repository:app:pull`);
        registryError(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe(`Basic realm="${login}"`);
      }
    });

    it('GET refuses bad credentials, other schemes and bad scopes, with registry error bodies', async () => {
      registryError(await get(`service=${w.main.login}`, { authorization: basicHeader(w.sp.clientId, 'nope') }), 401, 'UNAUTHORIZED');
      registryError(await get(`service=${w.main.login}`, { authorization: 'Bearer abc' }), 401, 'UNAUTHORIZED');
      registryError(await get(`service=${w.foreign.login}`, { authorization: basicHeader(w.sp.clientId, w.sp.secret) }), 401, 'UNAUTHORIZED');
      const bad = await get(`service=${w.main.login}&scope=repository:UPPER:pull`, { authorization: basicHeader(w.sp.clientId, w.sp.secret) });
      registryError(bad, 400, 'UNSUPPORTED');
      registryError(await get(`service=${w.main.login}&scope=nonsense`), 400, 'UNSUPPORTED');
    });

    it('GET throttles a username from one address after 10 failures (429 TOOMANYREQUESTS, Retry-After)', async () => {
      const ip = randomIp();
      for (let i = 0; i < 10; i++) {
        expect((await get(`service=${w.main.login}`, { 'x-forwarded-for': ip, authorization: basicHeader(w.token.name, 'bad') })).status).toBe(401);
      }
      const res = await get(`service=${w.main.login}`, { 'x-forwarded-for': ip, authorization: basicHeader(w.token.name, w.token.password) });
      registryError(res, 429, 'TOOMANYREQUESTS');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      const elsewhere = await get(`service=${w.main.login}&scope=repository:app:pull`, { authorization: basicHeader(w.token.name, w.token.password) });
      expect(claimsOf(elsewhere.json<{ access_token: string }>().access_token)['access']).toEqual([
        { type: 'repository', name: 'app', actions: ['pull'] },
      ]);
    });

    it('exchanges an identity token for a refresh token, then a refresh token for access tokens', async () => {
      const aad = await identityToken();
      const ex = await t.call('POST', '/oauth2/exchange?api-version=2021-07-01', {
        form: { grant_type: 'access_token', service: w.main.login, access_token: aad },
      });
      expect(ex.status).toBe(200);
      const refresh = ex.json<{ refresh_token: string }>().refresh_token;
      const rc = claimsOf(refresh);
      expect(rc).toMatchObject({
        aud: w.main.login,
        sub: `principal:${w.sp.id}`,
        grant_type: 'refresh_token',
        version: '1.0',
        tenant: w.tenantId,
        rid: w.main.id,
        permissions: { actions: ['*'], notActions: [] },
        roles: [],
      });
      expect(typeof rc['exp']).toBe('number');
      expect(Number(rc['exp']) - Number(rc['iat'])).toBe(3 * 3600);

      const access = await t.call('POST', '/oauth2/token?api-version=2021-07-01', {
        form: { grant_type: 'refresh_token', service: w.main.login, scope: ['repository:app:pull', 'repository:app:push'], refresh_token: refresh },
      });
      expect(access.status).toBe(200);
      expect(claimsOf(access.json<{ access_token: string }>().access_token)['access']).toEqual([
        { type: 'repository', name: 'app', actions: ['pull'] },
      ]);

      // The refresh token is bound to its registry; the null GUID login takes it as a password.
      registryError(
        await t.call('POST', '/oauth2/token', { form: { grant_type: 'refresh_token', service: w.open.login, scope: 'repository:app:pull', refresh_token: refresh } }),
        401,
        'UNAUTHORIZED',
      );
      const nullGuid = await get(`service=${w.main.login}&scope=repository:app:pull`, {
        authorization: basicHeader('00000000-0000-0000-0000-000000000000', refresh),
      });
      expect(claimsOf(nullGuid.json<{ access_token: string }>().access_token)).toMatchObject({ sub: `principal:${w.sp.id}` });

      // ARM and ACR audiences are accepted too; the tenant, when given, must match.
      for (const resource of ['https://management.azure.com', 'https://containerregistry.azure.net']) {
        const res = await t.call('POST', '/oauth2/exchange', {
          form: { grant_type: 'access_token', service: w.main.login, access_token: await identityToken(resource), tenant: w.tenantId },
        });
        expect(res.status).toBe(200);
      }
      registryError(
        await t.call('POST', '/oauth2/exchange', { form: { grant_type: 'access_token', service: w.main.login, access_token: aad, tenant: w.otherTenantId } }),
        401,
        'UNAUTHORIZED',
      );
    });

    it('refuses exchanges of bad tokens, for other tenants, and malformed requests', async () => {
      const exchange = (form: Record<string, string>) => t.call('POST', '/oauth2/exchange', { form });
      const aad = await identityToken();
      registryError(await exchange({ grant_type: 'access_token', service: w.foreign.login, access_token: aad }), 401, 'UNAUTHORIZED');
      registryError(await exchange({ grant_type: 'access_token', service: w.main.login, access_token: `${aad}x` }), 401, 'UNAUTHORIZED');
      registryError(await exchange({ grant_type: 'access_token', service: w.main.login, access_token: 'not.a.jwt' }), 401, 'UNAUTHORIZED');
      const [h, p] = aad.split('.');
      registryError(await exchange({ grant_type: 'access_token', service: w.main.login, access_token: `${h}.${p}.` }), 401, 'UNAUTHORIZED');
      // A registry token is not an identity token.
      const refresh = (await exchange({ grant_type: 'access_token', service: w.main.login, access_token: aad })).json<{ refresh_token: string }>().refresh_token;
      registryError(await exchange({ grant_type: 'access_token', service: w.main.login, access_token: refresh }), 401, 'UNAUTHORIZED');
      registryError(await exchange({ grant_type: 'refresh_token', service: w.main.login, access_token: aad }), 400, 'UNSUPPORTED');
      registryError(await exchange({ grant_type: 'access_token', service: w.main.login }), 400, 'UNSUPPORTED');
      registryError(
        await t.call('POST', '/oauth2/exchange', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'access_token' }) }),
        400,
        'UNSUPPORTED',
      );
      registryError(
        await t.call('POST', '/oauth2/exchange', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a='.repeat(40000) }),
        400,
        'UNSUPPORTED',
      );
    });

    it('POST password grant: credentials give access and refresh tokens; an empty refresh token is anonymous', async () => {
      const res = await t.call('POST', '/oauth2/token', {
        form: { grant_type: 'password', service: w.main.login, scope: 'repository:app:pull', username: w.token.name, password: w.token.password },
      });
      expect(res.status).toBe(200);
      const body = res.json<{ access_token: string; refresh_token: string }>();
      expect(claimsOf(body.access_token)).toMatchObject({ grant_type: 'access_token', access: [{ type: 'repository', name: 'app', actions: ['pull'] }] });
      expect(claimsOf(body.refresh_token)).toMatchObject({ grant_type: 'refresh_token', rid: w.main.id });

      const anonymous = await t.call('POST', '/oauth2/token', {
        form: { grant_type: 'password', service: w.open.login, scope: 'registry:catalog:*', refresh_token: '' },
      });
      expect(claimsOf(anonymous.json<{ access_token: string }>().access_token)).toMatchObject({
        sub: 'anonymous',
        access: [{ type: 'registry', name: 'catalog', actions: ['*'] }],
      });
      registryError(
        await t.call('POST', '/oauth2/token', { form: { grant_type: 'password', service: w.main.login, scope: 'registry:catalog:*', refresh_token: '' } }),
        401,
        'UNAUTHORIZED',
      );
      registryError(
        await t.call('POST', '/oauth2/token', { form: { grant_type: 'password', service: w.main.login, username: w.token.name, password: 'bad' } }),
        401,
        'UNAUTHORIZED',
      );
      registryError(await t.call('POST', '/oauth2/token', { form: { grant_type: 'client_credentials', service: w.main.login } }), 400, 'UNSUPPORTED');
      registryError(await t.call('POST', '/oauth2/token', { form: { service: w.main.login } }), 400, 'UNSUPPORTED');
      registryError(await t.call('POST', '/oauth2/token', { form: { grant_type: 'refresh_token', service: w.main.login } }), 400, 'UNSUPPORTED');
      registryError(
        await t.call('POST', '/oauth2/token', { form: { grant_type: 'refresh_token', service: w.main.login, refresh_token: 'garbage' } }),
        401,
        'UNAUTHORIZED',
      );
    });

    it('refuses a disabled admin user or token with 401 and a message saying so', async () => {
      await t.ds.query(`UPDATE tokens SET status = 'disabled' WHERE registry_id = $1`, [w.main.id]);
      try {
        const res = await get(`service=${w.main.login}`, { authorization: basicHeader(w.token.name, w.token.password) });
        registryError(res, 401, 'UNAUTHORIZED');
        expect(res.json<RegistryErrorBody>().errors[0]?.message).toBe('the credential is disabled');
      } finally {
        await t.ds.query(`UPDATE tokens SET status = 'enabled' WHERE registry_id = $1`, [w.main.id]);
      }
      await t.ds.query(`UPDATE registries SET admin_user_enabled = false WHERE id = $1`, [w.main.id]);
      try {
        // Registry facts are cached for up to 5 s.
        const res = await pollUntil(
          'the admin user refused',
          () => get(`service=${w.main.login}`, { authorization: basicHeader(w.main.name, w.adminPassword) }),
          (r) => r.status !== 200,
          { timeoutMs: 15000 },
        );
        registryError(res, 401, 'UNAUTHORIZED');
        expect(res.json<RegistryErrorBody>().errors[0]?.message).toBe('the credential is disabled');
      } finally {
        await t.ds.query(`UPDATE registries SET admin_user_enabled = true WHERE id = $1`, [w.main.id]);
      }
    });
  });
});
