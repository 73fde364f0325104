import { CACHE_STORE, type KeyValueStore } from '@berth/cache';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import { freePort, migratedDatabase, pollUntil, seedServicePrincipal, stackEnv, subscriptionScope } from '@berth/testing';
import { request } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { REGISTRY_FRONTEND_NEEDS, RegistryFrontendModule } from '../registry-frontend.module';
import { RepositoryRecords } from '../registry/repository-records.service';
import { UploadExpiry } from './upload-expiry.service';
import { UPLOAD_TTL_MS } from './upload-sessions.service';

const OTHER_HOST = 'othertenant.berth.localhost';

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
function sha512(b: Buffer): string {
  return `sha512:${createHash('sha512').update(b).digest('hex')}`;
}

interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
  json(): { errors: Array<{ code: string }> };
}

function rawRequest(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const r = request(
      { method, host: u.hostname, port: u.port, path: url.slice(u.origin.length), headers, timeout: 20000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: b, json: () => JSON.parse(b.toString()) as ReturnType<Res['json']> });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error('request timed out')));
    r.on('error', reject);
    r.end(body);
  });
}

/** Inserts the tenancy rows and two registries: `default` (bare host) and `othertenant`. */
async function seed(pg: Client): Promise<{ defaultId: string; otherId: string; auth: string }> {
  const t = await pg.query<{ id: string }>(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`);
  const s = await pg.query<{ id: string }>(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [t.rows[0]?.id]);
  const sub = s.rows[0]?.id;
  const rg = await pg.query<{ id: string }>(`INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'berth', 'eastus') RETURNING id`, [sub]);
  const ids: string[] = [];
  for (const name of ['default', 'othertenant']) {
    const r = await pg.query<{ id: string }>(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku)
       VALUES ($1, $2, $3, $4, 'eastus', 'Premium') RETURNING id`,
      [sub, rg.rows[0]?.id, name, `${name}.berth.localhost`],
    );
    ids.push(String(r.rows[0]?.id));
  }
  // Owner of the subscription: every data-plane action on both registries, through Basic auth as ACR accepts.
  const owner = await seedServicePrincipal(
    { query: (q: string, params?: unknown[]) => pg.query(q, params).then((r) => r.rows) },
    { tenantId: String(t.rows[0]?.id), role: 'Owner', scope: subscriptionScope(String(sub)), subscriptionId: sub },
  );
  return { defaultId: ids[0] ?? '', otherId: ids[1] ?? '', auth: owner.basic };
}

describe.each([
  ['s3 + redis (distributed adapters)', 's3'],
  ['fs + memory cache (embedded adapters)', 'fs'],
] as const)('blobs and uploads over %s', (_label, driver) => {
  let db: { url: string; drop(): Promise<void> };
  let pg: Client;
  let dataDir: string;
  let env: Record<string, string>;
  let svc: RunningService;
  let ids: { defaultId: string; otherId: string; auth: string };

  async function start(extra: Record<string, string> = {}): Promise<RunningService> {
    return startService(
      {
        name: 'registry-frontend',
        mode: 'distributed',
        rootModule: (config, logger) => serviceRoot(config, logger, { needs: REGISTRY_FRONTEND_NEEDS, modules: [RegistryFrontendModule] }),
      },
      { ...env, BERTH_PORT: String(await freePort()), ...extra },
    );
  }

  async function req(
    method: string,
    p: string,
    init: { body?: Buffer | ReadableStream<Uint8Array>; headers?: Record<string, string>; host?: string; base?: RunningService } = {},
  ): Promise<Res> {
    const headers: Record<string, string> = { authorization: ids.auth, ...(init.headers ?? {}) };
    if (headers['authorization'] === '') delete headers['authorization'];
    if (init.host || p.includes('%2e')) {
      // fetch drops a Host header (a forbidden header) and normalises `%2e%2e` segments: use node:http.
      if (init.body instanceof ReadableStream) throw new Error('streamed bodies go through fetch');
      return rawRequest(method, `${(init.base ?? svc).url}${p}`, { ...headers, ...(init.host ? { host: init.host } : {}) }, init.body);
    }
    const res = await fetch(`${(init.base ?? svc).url}${p}`, {
      method,
      headers,
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(20000),
      ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) as ReturnType<Res['json']> };
  }

  const octet = { 'content-type': 'application/octet-stream' };

  async function push(name: string, content: Buffer, host?: string): Promise<string> {
    const d = sha256(content);
    const r = await req('POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { body: content, headers: octet, host });
    expect(r.status).toBe(201);
    return d;
  }

  async function links(digest: string): Promise<number> {
    const r = await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM repository_blobs WHERE digest = $1`, [digest]);
    return Number(r.rows[0]?.n);
  }

  beforeAll(async () => {
    db = await migratedDatabase(String(process.env['BERTH_DATABASE_URL']), 'blobs');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    ids = await seed(pg);
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-blobs-'));
    env = {
      ...stackEnv(),
      BERTH_DATABASE_URL: db.url,
      BERTH_HOST: '127.0.0.1',
      BERTH_REGIONS: 'eastus',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_DATA_DIR: dataDir,
      BERTH_BLOB_DRIVER: driver,
      BERTH_BLOB_PULL: 'proxy',
      BERTH_S3_BUCKET_PREFIX: `bt-blobs-${randomUUID().slice(0, 8)}-`,
      ...(driver === 'fs' ? { BERTH_CACHE: 'memory' } : {}),
    };
    svc = await start();
  });

  afterAll(async () => {
    await svc?.stop();
    await pg?.end();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('monolithic POST ?digest= → 201, then HEAD and GET (whole and ranges)', async () => {
    const content = randomBytes(3000);
    const d = sha256(content);
    const post = await req('POST', `/v2/team/app/blobs/uploads/?digest=${d}`, { body: content, headers: octet });
    expect(post.status).toBe(201);
    expect(post.headers.get('location')).toBe(`/v2/team/app/blobs/${d}`);
    expect(post.headers.get('docker-content-digest')).toBe(d);

    const head = await req('HEAD', `/v2/team/app/blobs/${d}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('3000');
    expect(head.headers.get('docker-content-digest')).toBe(d);
    expect(head.headers.get('content-type')).toBe('application/octet-stream');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.body.length).toBe(0);

    const get = await req('GET', `/v2/team/app/blobs/${d}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('etag')).toBe(`"${d}"`);
    expect(get.body.equals(content)).toBe(true);

    const part = await req('GET', `/v2/team/app/blobs/${d}`, { headers: { range: 'bytes=500-1499' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 500-1499/3000');
    expect(part.body.equals(content.subarray(500, 1500))).toBe(true);
    const suffix = await req('GET', `/v2/team/app/blobs/${d}`, { headers: { range: 'bytes=-500' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(content.subarray(2500))).toBe(true);
    const clamped = await req('GET', `/v2/team/app/blobs/${d}`, { headers: { range: 'bytes=2900-9999' } });
    expect(clamped.status).toBe(206);
    expect(clamped.headers.get('content-range')).toBe('bytes 2900-2999/3000');
    for (const range of ['bytes=3000-', 'bytes=500-0']) {
      const bad = await req('GET', `/v2/team/app/blobs/${d}`, { headers: { range } });
      expect(bad.status).toBe(416);
      expect(bad.headers.get('content-range')).toBe('bytes */3000');
    }
  });

  it('unknown, unlinked and malformed blob digests', async () => {
    const d = await push('linked/here', randomBytes(100));
    expect((await req('GET', `/v2/not/linked/blobs/${d}`)).json().errors[0]?.code).toBe('BLOB_UNKNOWN');
    expect((await req('HEAD', `/v2/not/linked/blobs/${d}`)).status).toBe(404);
    expect((await req('GET', `/v2/linked/here/blobs/${sha256(Buffer.from('absent'))}`)).status).toBe(404);
    for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, 'md5:0123', 'nocolon']) {
      const r = await req('GET', `/v2/linked/here/blobs/${bad}`);
      expect([r.status, r.json().errors[0]?.code]).toEqual([400, 'DIGEST_INVALID']);
    }
  });

  it('refuses traversal and over-long repository names', async () => {
    const trav = await req('POST', '/v2/a/%2e%2e/b/blobs/uploads/');
    expect([trav.status, trav.json().errors[0]?.code]).toEqual([400, 'NAME_INVALID']);
    const long = await req('POST', `/v2/${'a'.repeat(300)}/blobs/uploads/`);
    expect([long.status, long.json().errors[0]?.code]).toEqual([400, 'NAME_INVALID']);
    const r = await pg.query(`SELECT 1 FROM repositories WHERE name LIKE 'aaaa%'`);
    expect(r.rowCount).toBe(0);
  });

  it('chunked upload: ordered PATCHes, status, gaps and overlaps refused with 416, final chunk in the PUT', async () => {
    const content = randomBytes(5000);
    const d = sha256(content);
    const post = await req('POST', '/v2/chunked/blobs/uploads/', { headers: { 'content-length': '0' } });
    expect(post.status).toBe(202);
    const loc = String(post.headers.get('location'));
    const uuid = String(post.headers.get('docker-upload-uuid'));
    expect(loc).toBe(`/v2/chunked/blobs/uploads/${uuid}`);
    expect(post.headers.get('range')).toBe('0-0');
    expect(post.headers.get('content-length')).toBe('0');

    const p1 = await req('PATCH', loc, { body: content.subarray(0, 2000), headers: { ...octet, 'content-range': '0-1999' } });
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-1999');
    expect(p1.headers.get('location')).toBe(loc);
    expect(p1.headers.get('docker-upload-uuid')).toBe(uuid);

    for (const [range, slice] of [
      ['3000-3999', content.subarray(3000, 4000)], // gap
      ['1000-2999', content.subarray(1000, 3000)], // overlap
    ] as const) {
      const r = await req('PATCH', loc, { body: slice, headers: { ...octet, 'content-range': range } });
      expect([r.status, r.json().errors[0]?.code]).toEqual([416, 'RANGE_INVALID']);
      expect(r.headers.get('range')).toBe('0-1999');
    }
    const mismatch = await req('PATCH', loc, { body: content.subarray(2000, 2500), headers: { ...octet, 'content-range': '2000-2999' } });
    expect([mismatch.status, mismatch.json().errors[0]?.code]).toEqual([400, 'SIZE_INVALID']);
    const malformed = await req('PATCH', loc, { body: content.subarray(2000, 2500), headers: { ...octet, 'content-range': 'bytes=2000-2499' } });
    expect(malformed.status).toBe(416);

    const status = await req('GET', loc);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-1999');
    expect(status.headers.get('location')).toBe(loc);

    const p2 = await req('PATCH', loc, { body: content.subarray(2000, 4000), headers: { ...octet, 'content-range': '2000-3999' } });
    expect(p2.headers.get('range')).toBe('0-3999');
    const put = await req('PUT', `${loc}?digest=${d}`, { body: content.subarray(4000), headers: octet });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/chunked/blobs/${d}`);
    expect(put.headers.get('docker-content-digest')).toBe(d);
    expect((await req('GET', `/v2/chunked/blobs/${d}`)).body.equals(content)).toBe(true);
    expect((await req('GET', loc)).status).toBe(404);
    const sessions = await pg.query(`SELECT 1 FROM upload_sessions WHERE id = $1`, [uuid]);
    expect(sessions.rowCount).toBe(0);
  });

  it('streamed PATCH without Content-Range, then PUT with an empty body; sha512 too', async () => {
    for (const algo of [sha256, sha512]) {
      const content = randomBytes(70_000);
      const post = await req('POST', '/v2/streamed/blobs/uploads/');
      const loc = String(post.headers.get('location'));
      const chunks = [content.subarray(0, 30_000), content.subarray(30_000)];
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      });
      const patch = await req('PATCH', loc, { body: stream, headers: octet });
      expect(patch.status).toBe(202);
      expect(patch.headers.get('range')).toBe('0-69999');
      const d = algo(content);
      const put = await req('PUT', `${loc}?digest=${d}`);
      expect(put.status).toBe(201);
      expect((await req('GET', `/v2/streamed/blobs/${d}`)).body.equals(content)).toBe(true);
    }
  });

  it("a session row whose offset lags storage: a chunk at the row's offset is 416 with storage's Range, a streamed PATCH lands at storage's end", async () => {
    const content = randomBytes(3000);
    const post = await req('POST', '/v2/lagging/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    const id = String(post.headers.get('docker-upload-uuid'));
    const first = { ...octet, 'content-range': '0-999' };
    expect((await req('PATCH', loc, { body: content.subarray(0, 1000), headers: first })).status).toBe(202);
    expect((await req('PATCH', loc, { body: content.subarray(1000, 2000), headers: { ...octet, 'content-range': '1000-1999' } })).status).toBe(202);
    // As after a failure between an append and its offset update: the row says 1000, storage holds 2000 bytes.
    await pg.query(`UPDATE upload_sessions SET offset_bytes = 1000 WHERE id = $1`, [id]);
    const stale = await req('PATCH', loc, { body: content.subarray(1000, 2000), headers: { ...octet, 'content-range': '1000-1999' } });
    expect([stale.status, stale.json().errors[0]?.code, stale.headers.get('range')]).toEqual([416, 'RANGE_INVALID', '0-1999']);
    // The refused body was drained (not left in the connection): the next request is answered.
    expect((await req('GET', loc)).headers.get('range')).toBe('0-1999');
    // A streamed PATCH is appended at storage's end, whatever the row says.
    await pg.query(`UPDATE upload_sessions SET offset_bytes = 1000 WHERE id = $1`, [id]);
    const streamed = await req('PATCH', loc, { body: content.subarray(2000, 2500), headers: octet });
    expect([streamed.status, streamed.headers.get('range')]).toEqual([202, '0-2499']);
    // A chunk at storage's end is taken although the row disagrees.
    await pg.query(`UPDATE upload_sessions SET offset_bytes = 1000 WHERE id = $1`, [id]);
    const next = await req('PATCH', loc, { body: content.subarray(2500), headers: { ...octet, 'content-range': '2500-2999' } });
    expect([next.status, next.headers.get('range')]).toEqual([202, '0-2999']);
    expect((await req('PUT', `${loc}?digest=${sha256(content)}`)).status).toBe(201);
    expect((await req('GET', `/v2/lagging/blobs/${sha256(content)}`)).body.equals(content)).toBe(true);
  });

  it('a digest mismatch is DIGEST_INVALID and links nothing; missing and malformed digests too', async () => {
    const content = randomBytes(1000);
    const wrong = sha256(Buffer.from('something else'));
    const post = await req('POST', '/v2/bad/digest/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    await req('PATCH', loc, { body: content, headers: octet });
    expect((await req('PUT', loc)).json().errors[0]?.code).toBe('DIGEST_INVALID');
    expect((await req('PUT', `${loc}?digest=sha256:123`)).json().errors[0]?.code).toBe('DIGEST_INVALID');
    // still open after refused parameters
    expect((await req('GET', loc)).headers.get('range')).toBe('0-999');
    const put = await req('PUT', `${loc}?digest=${wrong}`);
    expect([put.status, put.json().errors[0]?.code]).toEqual([400, 'DIGEST_INVALID']);
    expect(await links(wrong)).toBe(0);
    expect(await links(sha256(content))).toBe(0);
    expect((await req('HEAD', `/v2/bad/digest/blobs/${wrong}`)).status).toBe(404);
    // distribution discards the upload after a failed commit
    expect((await req('GET', loc)).status).toBe(404);

    const mono = await req('POST', `/v2/bad/digest/blobs/uploads/?digest=${wrong}`, { body: content, headers: octet });
    expect([mono.status, mono.json().errors[0]?.code]).toEqual([400, 'DIGEST_INVALID']);
    expect(await links(wrong)).toBe(0);
    const blobs = await pg.query(`SELECT 1 FROM blobs WHERE digest = $1`, [wrong]);
    expect(blobs.rowCount).toBe(0);
  });

  it('POST then one PUT with the whole body: a mismatch discards the upload, a match stores and links it once', async () => {
    const content = randomBytes(300_000);
    const wrong = sha256(Buffer.from('not these bytes'));
    const first = String((await req('POST', '/v2/mono/put/blobs/uploads/')).headers.get('location'));
    const bad = await req('PUT', `${first}?digest=${wrong}`, { body: content, headers: octet });
    expect([bad.status, bad.json().errors[0]?.code]).toEqual([400, 'DIGEST_INVALID']);
    expect(await links(wrong)).toBe(0);
    expect(await links(sha256(content))).toBe(0);
    expect((await req('GET', first)).status).toBe(404);

    const second = String((await req('POST', '/v2/mono/put/blobs/uploads/')).headers.get('location'));
    // A body shorter than its declared length is refused and stores nothing.
    const short = await req('PUT', `${second}?digest=${sha256(content)}`, {
      body: content.subarray(1),
      headers: { ...octet, 'content-range': `0-${content.length - 1}` },
    });
    expect(short.status).toBeGreaterThanOrEqual(400);
    expect(await links(sha256(content))).toBe(0);

    const third = String((await req('POST', '/v2/mono/put/blobs/uploads/')).headers.get('location'));
    const ok = await req('PUT', `${third}?digest=${sha256(content)}`, { body: content, headers: octet });
    expect([ok.status, ok.headers.get('docker-content-digest')]).toEqual([201, sha256(content)]);
    expect(await links(sha256(content))).toBe(1);
    expect((await req('GET', third)).status).toBe(404);
    const head = await req('HEAD', `/v2/mono/put/blobs/${sha256(content)}`);
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(content.length)]);
  });

  it('unknown, malformed and foreign upload ids are BLOB_UPLOAD_UNKNOWN', async () => {
    const post = await req('POST', '/v2/mine/blobs/uploads/');
    const uuid = String(post.headers.get('docker-upload-uuid'));
    for (const [p, host] of [
      [`/v2/mine/blobs/uploads/${randomUUID()}`, undefined],
      ['/v2/mine/blobs/uploads/not-a-uuid', undefined],
      [`/v2/theirs/blobs/uploads/${uuid}`, undefined],
      [`/v2/mine/blobs/uploads/${uuid}`, OTHER_HOST],
    ] as const) {
      for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
        const r = await req(method, method === 'PUT' ? `${p}?digest=${sha256(Buffer.alloc(0))}` : p, { host });
        expect([method, p, host, r.status, r.json().errors[0]?.code]).toEqual([method, p, host, 404, 'BLOB_UPLOAD_UNKNOWN']);
      }
    }
    expect((await req('GET', `/v2/mine/blobs/uploads/${uuid}`)).status).toBe(204);
  });

  it('an expired session is BLOB_UPLOAD_UNKNOWN to PATCH and PUT, though its row is still there', async () => {
    // PATCH and PUT take their session row from the read made before routing (with the storage quota): it must
    // apply the same rules as the handler's own lookup (live, this registry, this repository).
    const post = await req('POST', '/v2/expired/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    const uuid = String(post.headers.get('docker-upload-uuid'));
    expect((await req('PATCH', loc, { body: randomBytes(10), headers: octet })).status).toBe(202);
    await pg.query(`UPDATE upload_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [uuid]);
    for (const [method, url] of [['PATCH', loc], ['PUT', `${loc}?digest=${sha256(Buffer.alloc(0))}`]] as const) {
      const r = await req(method, url, { body: randomBytes(10), headers: octet });
      expect([method, r.status, r.json().errors[0]?.code]).toEqual([method, 404, 'BLOB_UPLOAD_UNKNOWN']);
    }
    expect((await pg.query(`SELECT offset_bytes::int AS offset FROM upload_sessions WHERE id = $1`, [uuid])).rows).toEqual([{ offset: 10 }]);
    // Leave nothing expired for the expiry sweep's test.
    expect((await req('DELETE', loc)).status).toBe(404);
    await pg.query(`UPDATE upload_sessions SET expires_at = now() + interval '1 hour' WHERE id = $1`, [uuid]);
    expect((await req('DELETE', loc)).status).toBe(204);
  });

  it('cancel: DELETE <upload> → 204, then the upload is unknown', async () => {
    const post = await req('POST', '/v2/cancel/me/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    await req('PATCH', loc, { body: randomBytes(10), headers: octet });
    expect((await req('DELETE', loc)).status).toBe(204);
    expect((await req('GET', loc)).status).toBe(404);
    expect((await req('DELETE', loc)).status).toBe(404);
  });

  it('a session begins its storage upload only with its first append; an untouched one commits the empty blob', async () => {
    const storageId = async (uuid: string): Promise<string | undefined> =>
      (await pg.query<{ s: string }>(`SELECT storage_upload_id AS s FROM upload_sessions WHERE id = $1`, [uuid])).rows[0]?.s;
    const stores = svc.app.get<BlobStores>(BLOB_STORES, { strict: false });
    const post = await req('POST', '/v2/lazy/begin/blobs/uploads/');
    const [loc, uuid] = [String(post.headers.get('location')), String(post.headers.get('docker-upload-uuid'))];
    expect(await storageId(uuid)).toBe('');
    expect((await req('GET', loc)).headers.get('range')).toBe('0-0');
    const content = randomBytes(50);
    expect((await req('PATCH', loc, { body: content, headers: { ...octet, 'content-range': '0-49' } })).status).toBe(202);
    const begun = String(await storageId(uuid));
    expect(begun).not.toBe('');
    expect((await stores.get('eastus').uploadStatus(ids.defaultId, begun)).size).toBe(50);
    expect((await req('PUT', `${loc}?digest=${sha256(content)}`)).status).toBe(201);
    await expect(stores.get('eastus').uploadStatus(ids.defaultId, begun)).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });

    const empty = String((await req('POST', '/v2/lazy/begin/blobs/uploads/')).headers.get('location'));
    expect((await req('PUT', `${empty}?digest=${sha256(Buffer.from('x'))}`)).json().errors[0]?.code).toBe('DIGEST_INVALID');
    const again = String((await req('POST', '/v2/lazy/begin/blobs/uploads/')).headers.get('location'));
    const put = await req('PUT', `${again}?digest=${sha256(Buffer.alloc(0))}`);
    expect([put.status, put.headers.get('docker-content-digest')]).toEqual([201, sha256(Buffer.alloc(0))]);
    expect((await req('HEAD', `/v2/lazy/begin/blobs/${sha256(Buffer.alloc(0))}`)).headers.get('content-length')).toBe('0');
  });

  it('a write-protected repository refuses uploads with DENIED and opens no session', async () => {
    await push('locked/repo', randomBytes(10));
    await pg.query(`UPDATE repositories SET write_enabled = false WHERE registry_id = $1 AND name = 'locked/repo'`, [ids.defaultId]);
    const sessions = async (): Promise<number> =>
      Number((await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM upload_sessions WHERE repository_name = 'locked/repo'`)).rows[0]?.n);
    const open = await req('POST', '/v2/locked/repo/blobs/uploads/');
    expect([open.status, open.json().errors[0]?.code]).toEqual([403, 'DENIED']);
    const content = randomBytes(20);
    const mono = await req('POST', `/v2/locked/repo/blobs/uploads/?digest=${sha256(content)}`, { body: content, headers: octet });
    expect([mono.status, mono.json().errors[0]?.code]).toEqual([403, 'DENIED']);
    expect(await sessions()).toBe(0);
    expect(await links(sha256(content))).toBe(0);
    await pg.query(`UPDATE repositories SET write_enabled = true WHERE registry_id = $1 AND name = 'locked/repo'`, [ids.defaultId]);
    expect((await req('POST', '/v2/locked/repo/blobs/uploads/')).status).toBe(202);
  });

  it('mount: from a repository holding the blob → 201; without from → 201; otherwise a session (202)', async () => {
    const d = await push('mount/source', randomBytes(200));
    const m = await req('POST', `/v2/mount/target/blobs/uploads/?mount=${d}&from=mount/source`);
    expect(m.status).toBe(201);
    expect(m.headers.get('location')).toBe(`/v2/mount/target/blobs/${d}`);
    expect(m.headers.get('docker-content-digest')).toBe(d);
    expect((await req('HEAD', `/v2/mount/target/blobs/${d}`)).status).toBe(200);

    const anon = await req('POST', `/v2/mount/anon/blobs/uploads/?mount=${d}`);
    expect(anon.status).toBe(201);

    const absent = sha256(Buffer.from('nowhere'));
    const fallback = await req('POST', `/v2/mount/other/blobs/uploads/?mount=${absent}&from=mount/source`);
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('location')).toMatch(/^\/v2\/mount\/other\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const wrongFrom = await req('POST', `/v2/mount/other/blobs/uploads/?mount=${d}&from=not/holding`);
    expect(wrongFrom.status).toBe(202);
    expect((await req('HEAD', `/v2/mount/other/blobs/${d}`)).status).toBe(404);
    expect((await req('POST', `/v2/mount/x/blobs/uploads/?mount=sha256:zz&from=mount/source`)).status).toBe(400);
  });

  it('tenant isolation: registry B never sees or mounts registry A content', async () => {
    const content = randomBytes(300);
    const d = await push('shared/name', content);
    expect((await req('HEAD', `/v2/shared/name/blobs/${d}`, { host: OTHER_HOST })).status).toBe(404);
    expect((await req('GET', `/v2/shared/name/blobs/${d}`, { host: OTHER_HOST })).status).toBe(404);
    expect((await req('DELETE', `/v2/shared/name/blobs/${d}`, { host: OTHER_HOST })).status).toBe(404);
    const m = await req('POST', `/v2/shared/name/blobs/uploads/?mount=${d}&from=shared/name`, { host: OTHER_HOST });
    expect(m.status).toBe(202);
    const anon = await req('POST', `/v2/x/blobs/uploads/?mount=${d}`, { host: OTHER_HOST });
    expect(anon.status).toBe(202);
    const linked = await pg.query(`SELECT 1 FROM repository_blobs WHERE registry_id = $1 AND digest = $2`, [ids.otherId, d]);
    expect(linked.rowCount).toBe(0);
    // the same content pushed to B is B's own blob
    await push('shared/name', content, OTHER_HOST);
    expect((await req('HEAD', `/v2/shared/name/blobs/${d}`, { host: OTHER_HOST })).status).toBe(200);
  });

  it('DELETE blob removes only the link: 202, then 404; other repositories keep it', async () => {
    const content = randomBytes(400);
    const d = await push('del/one', content);
    expect((await req('POST', `/v2/del/two/blobs/uploads/?mount=${d}&from=del/one`)).status).toBe(201);
    expect((await req('DELETE', `/v2/del/one/blobs/${d}`)).status).toBe(202);
    expect((await req('HEAD', `/v2/del/one/blobs/${d}`)).status).toBe(404);
    expect((await req('DELETE', `/v2/del/one/blobs/${d}`)).json().errors[0]?.code).toBe('BLOB_UNKNOWN');
    expect((await req('GET', `/v2/del/two/blobs/${d}`)).body.equals(content)).toBe(true);
  });

  it('uploads starting at once in a new repository create it once, and each gets its own session', async () => {
    const records = svc.app.get(RepositoryRecords, { strict: false });
    const findOrCreate = jest.spyOn(records, 'findOrCreate');
    try {
      const posts = await Promise.all(Array.from({ length: 12 }, () => req('POST', '/v2/burst/new/blobs/uploads/')));
      expect(posts.map((r) => r.status)).toEqual(Array(12).fill(202));
      expect(new Set(posts.map((r) => r.headers.get('docker-upload-uuid'))).size).toBe(12);
      expect(findOrCreate).toHaveBeenCalledTimes(1);
      const rows = await pg.query(`SELECT count(*)::int AS n FROM repositories WHERE registry_id = $1 AND name = 'burst/new'`, [ids.defaultId]);
      expect(rows.rows[0]).toEqual({ n: 1 });
      // Each session completes on its own.
      const content = randomBytes(64);
      const put = await req('PUT', `${String(posts[3]?.headers.get('location'))}?digest=${sha256(content)}`, { body: content, headers: octet });
      expect(put.status).toBe(201);
      // A write-protected new repository refuses every one of them the same way.
      await pg.query(`UPDATE repositories SET write_enabled = false WHERE registry_id = $1 AND name = 'burst/new'`, [ids.defaultId]);
      const refused = await Promise.all(Array.from({ length: 3 }, () => req('POST', '/v2/burst/new/blobs/uploads/')));
      expect(refused.map((r) => [r.status, r.json().errors[0]?.code])).toEqual(Array(3).fill([403, 'DENIED']));
    } finally {
      findOrCreate.mockRestore();
    }
  });

  it('20 clients uploading the same blob concurrently all succeed and the blob is intact', async () => {
    const content = randomBytes(200_000);
    const d = sha256(content);
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const post = await req('POST', '/v2/concurrent/blobs/uploads/');
        const loc = String(post.headers.get('location'));
        const patch = await req('PATCH', loc, { body: content.subarray(0, 100_000), headers: { ...octet, 'content-range': '0-99999' } });
        const put = await req('PUT', `${loc}?digest=${d}`, { body: content.subarray(100_000), headers: octet });
        return [post.status, patch.status, put.status];
      }),
    );
    expect(results).toEqual(Array.from({ length: 20 }, () => [202, 202, 201]));
    expect((await req('GET', `/v2/concurrent/blobs/${d}`)).body.equals(content)).toBe(true);
    expect(await links(d)).toBe(1);
  });

  it('a second PATCH while one is streaming into the same upload is refused (416) and does not interleave', async () => {
    const post = await req('POST', '/v2/busy/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    const uuid = String(post.headers.get('docker-upload-uuid'));
    const first = randomBytes(1000);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent === 0) {
          sent++;
          c.enqueue(first.subarray(0, 500));
          return;
        }
        await gate;
        c.enqueue(first.subarray(500));
        c.close();
      },
    });
    const inFlight = req('PATCH', loc, { body: slow, headers: { ...octet, 'content-range': '0-999', 'content-length': '1000' } });
    // Wait until the first PATCH holds the upload's lease (observed in the cache store, without taking it).
    const cache = svc.app.get<KeyValueStore>(CACHE_STORE, { strict: false });
    await pollUntil('the first PATCH to hold the upload', () => cache.get(`upload-lock:${uuid}`), (v) => v !== undefined, {
      timeoutMs: 10000,
      intervalMs: 10,
    });
    const second = await req('PATCH', loc, { body: randomBytes(10), headers: { ...octet, 'content-range': '0-9' } });
    expect([second.status, second.json().errors[0]?.code]).toEqual([416, 'RANGE_INVALID']);
    expect(second.body.toString()).toContain('in use by another request');
    release();
    expect((await inFlight).status).toBe(202);
    const put = await req('PUT', `${loc}?digest=${sha256(first)}`);
    expect(put.status).toBe(201);
  });

  it('redirect mode: GET answers 307 to a presigned URL with S3, and streams with the filesystem', async () => {
    const content = randomBytes(2048);
    const d = await push('redirect/me', content);
    const redirecting = await start({ BERTH_BLOB_PULL: 'redirect' });
    try {
      const r = await req('GET', `/v2/redirect/me/blobs/${d}`, { base: redirecting });
      if (driver === 's3') {
        expect(r.status).toBe(307);
        const target = String(r.headers.get('location'));
        expect(target).toMatch(/^https?:\/\/.*X-Amz-Signature=/);
        const bytes = Buffer.from(await (await fetch(target, { signal: AbortSignal.timeout(10000) })).arrayBuffer());
        expect(bytes.equals(content)).toBe(true);
      } else {
        expect(r.status).toBe(200);
        expect(r.body.equals(content)).toBe(true);
      }
      // HEAD is always answered by the frontend
      expect((await req('HEAD', `/v2/redirect/me/blobs/${d}`, { base: redirecting })).status).toBe(200);
    } finally {
      await redirecting.stop();
    }
  });

  it('an upload resumes in a new process after a restart', async () => {
    const content = randomBytes(9000);
    const post = await req('POST', '/v2/resume/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    expect((await req('PATCH', loc, { body: content.subarray(0, 4000), headers: { ...octet, 'content-range': '0-3999' } })).status).toBe(202);
    await svc.stop();
    svc = await start();
    expect((await req('GET', loc)).headers.get('range')).toBe('0-3999');
    expect((await req('PATCH', loc, { body: content.subarray(4000, 8000), headers: { ...octet, 'content-range': '4000-7999' } })).status).toBe(202);
    const put = await req('PUT', `${loc}?digest=${sha256(content)}`, { body: content.subarray(8000), headers: octet });
    expect(put.status).toBe(201);
    expect((await req('GET', `/v2/resume/blobs/${sha256(content)}`)).body.equals(content)).toBe(true);
  });

  it('the expiry sweep removes expired sessions and orphaned storage uploads', async () => {
    const post = await req('POST', '/v2/expire/blobs/uploads/');
    const loc = String(post.headers.get('location'));
    const uuid = String(post.headers.get('docker-upload-uuid'));
    await req('PATCH', loc, { body: randomBytes(100), headers: octet });
    const stores = svc.app.get<BlobStores>(BLOB_STORES, { strict: false });
    const orphan = await stores.get('eastus').beginUpload(ids.defaultId);
    const expiry = svc.app.get(UploadExpiry, { strict: false });

    expect(await expiry.sweep()).toEqual({ sessions: 0, orphans: 0 }); // nothing is old yet
    expect((await req('GET', loc)).status).toBe(204);

    const result = await expiry.sweep(new Date(Date.now() + UPLOAD_TTL_MS + 60_000));
    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(result.orphans).toBeGreaterThanOrEqual(1);
    expect((await req('GET', loc)).status).toBe(404);
    expect((await pg.query(`SELECT 1 FROM upload_sessions WHERE id = $1`, [uuid])).rowCount).toBe(0);
    await expect(stores.get('eastus').uploadStatus(ids.defaultId, orphan.uploadId)).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
  });
});
