import { hashSecret } from '@berth/auth';
import {
  freePort,
  migratedDatabase,
  pollUntil,
  stackEnv,
  startApp,
  stopProcess,
  type ServiceProcess,
} from '@berth/testing';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Client } from 'pg';

jest.setTimeout(180_000);

const READ_LIMIT = 7;
const WRITE_LIMIT = 3;
const STORAGE_LIMIT = 1000;
const ADMIN_PASSWORD = 'limits-admin-password';

/**
 * Tier limits across processes: two registry-frontend processes share Redis, so together they allow exactly the
 * per-registry request rate of a test tier (BERTH_TIER_OVERRIDES) in a window, then answer 429 TOOMANYREQUESTS with
 * a Retry-After counting down to the window's end; pushes over the storage limit and clients outside the IP rules
 * are refused.
 */
interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: <T>() => T;
}

/** node:http, not fetch: fetch drops a caller-set Host header, and Host selects the registry. */
function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Res> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('data-plane limits (two frontend processes)', () => {
  let db: { url: string; drop(): Promise<void> };
  let pg: Client;
  const frontends: ServiceProcess[] = [];
  const name = `lim${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const premium = `${name}p`;
  /** A Basic registry of its own (its own read budget) for the pull fast path. */
  const pulls = `${name}f`;
  /** A Standard registry with a small write budget, for throttled uploads. */
  const writes = `${name}w`;
  const suffix = 'berth.localhost';

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'limits');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    const tenant = (await pg.query(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`)).rows[0] as {
      id: string;
    };
    const sub = (
      await pg.query(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [tenant.id])
    ).rows[0] as { id: string };
    const rg = (
      await pg.query(
        `INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'rg', 'eastus') RETURNING id`,
        [sub.id],
      )
    ).rows[0] as { id: string };
    await pg.query(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku, anonymous_pull_enabled)
       VALUES ($1, $2, $3, $4, 'eastus', 'Basic', false),
              ($1, $2, $5, $6, 'eastus', 'Premium', false),
              ($1, $2, $7, $8, 'eastus', 'Basic', false),
              ($1, $2, $9, $10, 'eastus', 'Standard', false)`,
      [sub.id, rg.id, name, `${name}.${suffix}`, premium, `${premium}.${suffix}`, pulls, `${pulls}.${suffix}`, writes, `${writes}.${suffix}`],
    );
    await pg.query(`UPDATE registries SET admin_user_enabled = true WHERE name IN ($1, $2, $3)`, [name, pulls, writes]);
    await pg.query(
      `INSERT INTO admin_credentials (registry_id, name, password_hash, encrypted_value)
       SELECT id, 'password', $4, 'unused' FROM registries WHERE name IN ($1, $2, $3)`,
      [name, pulls, writes, await hashSecret(ADMIN_PASSWORD)],
    );
    const common = {
      ...env,
      BERTH_DATABASE_URL: db.url,
      BERTH_HOST: '127.0.0.1',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_REGIONS: 'eastus',
      BERTH_DEFAULT_REGISTRY: name,
      BERTH_S3_BUCKET_PREFIX: `lim${randomUUID().slice(0, 8)}`,
      BERTH_TIER_OVERRIDES: JSON.stringify({
        Basic: { throttle: { read: { perRegistry: READ_LIMIT } }, storageLimitBytes: STORAGE_LIMIT },
        Premium: { throttle: { read: { perRegistry: 1000 } } },
        Standard: { throttle: { write: { perRegistry: WRITE_LIMIT } } },
      }),
    };
    for (let i = 0; i < 2; i++) frontends.push(startApp('registry-frontend', common, await freePort()));
    for (const f of frontends) {
      await pollUntil(
        `${f.name} ready`,
        () => call(f.url, 'GET', '/readyz'),
        (r) => r.status === 200,
        { timeoutMs: 60_000 },
      );
    }
  });

  afterAll(async () => {
    for (const f of frontends) await stopProcess(f);
    await pg?.end();
    await db?.drop();
  });

  it('allows exactly the limit across both processes, then 429 with a decreasing Retry-After', async () => {
    const statuses: number[] = [];
    const retryAfter: number[] = [];
    for (let i = 0; i < READ_LIMIT + 4; i++) {
      const f = frontends[i % 2] as ServiceProcess;
      const res = await call(f.url, 'GET', '/v2/');
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter.push(Number(res.headers['retry-after']));
        expect(res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('TOOMANYREQUESTS');
      }
    }
    expect(statuses.filter((s) => s !== 429)).toHaveLength(READ_LIMIT);
    expect(statuses.slice(READ_LIMIT).every((s) => s === 429)).toBe(true);
    for (const r of retryAfter) {
      expect(r).toBeGreaterThanOrEqual(1);
      expect(r).toBeLessThanOrEqual(60);
    }
    expect(retryAfter[retryAfter.length - 1]).toBeLessThanOrEqual(retryAfter[0] ?? 0);
    // Another registry has its own budget.
    const other = await call(frontends[0]?.url ?? '', 'GET', '/v2/', { host: `${premium}.${suffix}` });
    expect(other.status).not.toBe(429);
  });

  it('counts pulls that fail authentication against the registry: a flood of them ends in 429 for everyone', async () => {
    // Pulls are answered by the fast path, which counts the registry's and the caller's rates in one call after
    // authentication; a caller that fails it is still counted against the registry.
    const host = { host: `${pulls}.${suffix}` };
    const admin = { authorization: `Basic ${Buffer.from(`${pulls}:${ADMIN_PASSWORD}`).toString('base64')}` };
    const statuses: number[] = [];
    for (let i = 0; i < READ_LIMIT + 3; i++) {
      const f = frontends[i % 2] as ServiceProcess;
      const path = i % 3 === 0 ? '/v2/app/manifests/latest' : `/v2/app/blobs/sha256:${'a'.repeat(64)}`;
      statuses.push((await call(f.url, i % 2 === 0 ? 'GET' : 'HEAD', path, host)).status);
    }
    expect(statuses.slice(0, READ_LIMIT)).toEqual(Array<number>(READ_LIMIT).fill(401));
    expect(statuses.slice(READ_LIMIT)).toEqual([429, 429, 429]);
    // The registry's budget is spent for authenticated callers too (the refusal comes before the manifest lookup).
    const authed = await call(frontends[0]?.url ?? '', 'GET', '/v2/app/manifests/latest', { ...host, ...admin });
    expect(authed.status).toBe(429);
    expect(authed.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('TOOMANYREQUESTS');
    expect(Number(authed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('refuses an upload that would exceed the storage limit and stores nothing', async () => {
    // Writes have their own budget; the read bucket is exhausted by the previous test.
    const f = frontends[1] as ServiceProcess;
    const res = await call(
      f.url,
      'POST',
      `/v2/app/blobs/uploads/?digest=sha256:${'0'.repeat(64)}`,
      { 'content-type': 'application/octet-stream', 'content-length': String(STORAGE_LIMIT + 1) },
      Buffer.alloc(STORAGE_LIMIT + 1),
    );
    expect(res.status).toBe(403);
    const body = res.json<{ errors: Array<{ code: string; message: string }> }>();
    expect(body.errors[0]?.code).toBe('DENIED');
    expect(body.errors[0]?.message).toContain('storage quota exceeded');
    expect((await pg.query(`SELECT count(*)::int AS n FROM blobs`)).rows[0]).toEqual({ n: 0 });
  });

  it('counts what a chunked upload already holds against the storage limit', async () => {
    const f = frontends[0] as ServiceProcess;
    const auth = { authorization: `Basic ${Buffer.from(`${name}:${ADMIN_PASSWORD}`).toString('base64')}` };
    const start = await call(f.url, 'POST', '/v2/chunked/blobs/uploads/', { ...auth, 'content-length': '0' });
    expect(start.status).toBe(202);
    const location = String(start.headers['location']);
    const chunk = (from: number, size: number): Promise<Res> =>
      call(
        f.url,
        'PATCH',
        location,
        {
          ...auth,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'content-range': `${from}-${from + size - 1}`,
        },
        Buffer.alloc(size, 1),
      );
    expect((await chunk(0, 600)).status).toBe(202);
    const over = await chunk(600, 600);
    expect(over.status).toBe(403);
    expect(over.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('DENIED');
  });

  it('counts what an upload holds when its PUT carries the last chunk; a refused PUT changes nothing and the upload resumes', async () => {
    // The PATCH and PUT read their session row and the registry's stored bytes in one statement (before routing),
    // and the handler uses that row: the refusal must still come, and the upload must still be there afterwards.
    const f = frontends[1] as ServiceProcess;
    const auth = { authorization: `Basic ${Buffer.from(`${name}:${ADMIN_PASSWORD}`).toString('base64')}` };
    const start = await call(f.url, 'POST', '/v2/last-chunk/blobs/uploads/', { ...auth, 'content-length': '0' });
    expect(start.status).toBe(202);
    const location = String(start.headers['location']);
    const octets = (from: number, size: number): Record<string, string> => ({
      ...auth,
      'content-type': 'application/octet-stream',
      'content-length': String(size),
      'content-range': `${from}-${from + size - 1}`,
    });
    expect((await call(f.url, 'PATCH', location, octets(0, 500), Buffer.alloc(500, 3))).status).toBe(202);
    // 500 held + 600 in the PUT > 1000: refused, though the registry stores nothing yet.
    const whole = Buffer.alloc(1100, 3);
    const digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
    const over = await call(f.url, 'PUT', `${location}?digest=${digest}`, octets(500, 600), Buffer.alloc(600, 3));
    expect(over.status).toBe(403);
    expect(over.json<{ errors: Array<{ code: string; message: string }> }>().errors[0]?.message).toContain('storage quota exceeded');
    expect((await pg.query(`SELECT count(*)::int AS n FROM blobs WHERE digest = $1`, [digest])).rows[0]).toEqual({ n: 0 });
    // Nothing changed (the registry's read budget is spent by now, so the session row says it, not a status GET): the
    // session holds its 500 bytes and completes with a last chunk that fits.
    const uuid = location.split('/').pop();
    expect((await pg.query(`SELECT offset_bytes::int AS offset FROM upload_sessions WHERE id = $1`, [uuid])).rows).toEqual([{ offset: 500 }]);
    const fits = Buffer.alloc(600, 3).subarray(0, 100);
    const small = Buffer.concat([Buffer.alloc(500, 3), fits]);
    const smallDigest = `sha256:${createHash('sha256').update(small).digest('hex')}`;
    const done = await call(f.url, 'PUT', `${location}?digest=${smallDigest}`, octets(500, 100), fits);
    expect(done.status).toBe(201);
    // The session is gone: the same URL is unknown now (the row read before routing says so too).
    const again = await call(f.url, 'PUT', `${location}?digest=${smallDigest}`, { ...auth, 'content-length': '0' });
    expect(again.status).toBe(404);
    expect(again.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('BLOB_UPLOAD_UNKNOWN');
    // Leave the registry's stored bytes as they were for the next test.
    await pg.query(`DELETE FROM repository_blobs WHERE digest = $1`, [smallDigest]);
    await pg.query(`DELETE FROM blobs WHERE digest = $1`, [smallDigest]);
  });

  it('throttles upload PATCHes and PUTs once the write budget is spent, and they change nothing', async () => {
    const f = frontends[0] as ServiceProcess;
    const host = { host: `${writes}.${suffix}` };
    const auth = { ...host, authorization: `Basic ${Buffer.from(`${writes}:${ADMIN_PASSWORD}`).toString('base64')}` };
    const locations: string[] = [];
    for (let i = 0; i < WRITE_LIMIT; i++) {
      const res = await call(f.url, 'POST', '/v2/busy/blobs/uploads/', { ...auth, 'content-length': '0' });
      expect(res.status).toBe(202);
      locations.push(String(res.headers['location']));
    }
    const body = Buffer.alloc(10, 7);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const headers = { ...auth, 'content-type': 'application/octet-stream', 'content-length': '10' };
    const patch = await call(f.url, 'PATCH', String(locations[0]), headers, body);
    const put = await call(f.url, 'PUT', `${String(locations[1])}?digest=${digest}`, headers, body);
    for (const res of [patch, put]) {
      expect(res.status).toBe(429);
      expect(res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('TOOMANYREQUESTS');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const rows = await pg.query(
      `SELECT s.offset_bytes::int AS offset, s.storage_upload_id AS storage FROM upload_sessions s JOIN registries r ON r.id = s.registry_id
        WHERE r.name = $1 ORDER BY s.started_at`,
      [writes],
    );
    expect(rows.rows).toEqual(Array(WRITE_LIMIT).fill({ offset: 0, storage: '' }));
    expect((await pg.query(`SELECT count(*)::int AS n FROM blobs WHERE digest = $1`, [digest])).rows[0]).toEqual({ n: 0 });
  });

  it('counts what the registry stores, whoever wrote or deleted it, and frees what is deleted', async () => {
    const f = frontends[1] as ServiceProcess;
    const upload = (): Promise<Res> =>
      call(
        f.url,
        'POST',
        `/v2/app/blobs/uploads/?digest=sha256:${'1'.repeat(64)}`,
        {
          authorization: `Basic ${Buffer.from(`${name}:${ADMIN_PASSWORD}`).toString('base64')}`,
          'content-type': 'application/octet-stream',
          'content-length': '400',
        },
        Buffer.alloc(400),
      );
    // Rows written outside the frontend (as an import or a replication would) count too.
    await pg.query(`INSERT INTO blobs (registry_id, digest, size) SELECT id, $2, 700 FROM registries WHERE name = $1`, [
      name,
      `sha256:${'2'.repeat(64)}`,
    ]);
    const over = await upload();
    expect(over.status).toBe(403);
    expect(over.json<{ errors: Array<{ message: string }> }>().errors[0]?.message).toContain('stores 700 bytes');
    await pg.query(`DELETE FROM blobs WHERE digest = $1`, [`sha256:${'2'.repeat(64)}`]);
    // Under the limit again: refused for its wrong digest, not for storage.
    const fits = await upload();
    expect(fits.status).toBe(400);
    const counted = await pg.query(
      `SELECT coalesce(sum(value), 0)::int AS bytes FROM usage_counters u JOIN registries r ON r.id = u.registry_id WHERE r.name = $1`,
      [name],
    );
    expect(counted.rows[0]).toEqual({ bytes: 0 });
  });

  it('refuses clients outside a Premium registry IP rules', async () => {
    const f = frontends[0] as ServiceProcess;
    const host = { host: `${premium}.${suffix}` };
    await pg.query(`UPDATE registries SET properties = $2 WHERE name = $1`, [
      premium,
      JSON.stringify({
        networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '10.0.0.0/8' }] },
      }),
    ]);
    const denied = await pollUntil(
      'the IP rules apply',
      () => call(f.url, 'GET', '/v2/', host),
      (r) => r.status === 403,
      { timeoutMs: 15_000 },
    );
    expect(denied.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('DENIED');
    // Pulls (the fast path) are refused the same way, before any credential is looked at.
    const pull = await call(f.url, 'GET', '/v2/app/manifests/latest', host);
    expect(pull.status).toBe(403);
    expect(pull.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe('DENIED');
    await pg.query(`UPDATE registries SET properties = $2 WHERE name = $1`, [
      premium,
      JSON.stringify({ networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '127.0.0.1' }] } }),
    ]);
    await pollUntil(
      'the IP rule admits loopback',
      () => call(f.url, 'GET', '/v2/', host),
      (r) => r.status !== 403,
      { timeoutMs: 15_000 },
    );
  });
});
