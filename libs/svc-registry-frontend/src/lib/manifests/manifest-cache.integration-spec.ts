import { MediaTypes, digestOf } from '@berth/oci';
import { freePort, migratedDatabase, pollUntil, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { RepositoryChanges } from '../registry/repository-changes.service';
import { errorCode, httpCall, startFrontend, testAuthorization, type FrontendUnderTest, type TestResponse } from './data-plane.test-util';
import { ManifestCache } from './manifest-cache';

jest.setTimeout(120_000);

const REGISTRY = 'mcache';
const HOST = `${REGISTRY}.berth.localhost`;
const REPO = 'team/app';
/** How long another process's change may take to be seen (notification delivery is milliseconds; generous for CI). */
const STALENESS_BOUND_MS = 2_000;

/**
 * The manifest cache against the real PostgreSQL: answers are served from memory, and every change made elsewhere
 * (another frontend process, a plain SQL write) is seen within a bounded time through the triggers' notifications;
 * while the listening connection is down, nothing is served from memory.
 */
describe('manifest cache invalidation across processes', () => {
  let a: FrontendUnderTest;
  let b: FrontendUnderTest;
  let db: { url: string; drop(): Promise<void> };
  let sql: Client;
  /** On the stack's own database: a database cannot disallow connections to itself. */
  let admin: Client;
  let dataDir: string;
  let registryId = '';
  const digests: Record<string, string> = {};

  const getA = (ref: string): Promise<TestResponse> => a.call('GET', `/v2/${REPO}/manifests/${ref}`, { headers: { host: HOST } });
  const digestAtA = async (ref: string): Promise<string> => {
    const r = await getA(ref);
    return r.status === 200 ? (r.headers.get('docker-content-digest') ?? '') : `${r.status} ${errorCode(r) ?? ''}`;
  };
  /** A write nobody is told about: triggers do not fire for a session in replica mode (superuser only). */
  const silently = async (statement: string, params: unknown[]): Promise<void> => {
    await sql.query('BEGIN');
    await sql.query(`SET LOCAL session_replication_role = replica`);
    await sql.query(statement, params);
    await sql.query('COMMIT');
  };
  const listening = (f: FrontendUnderTest): boolean => f.svc.app.get(RepositoryChanges).isListening;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'mcache');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-mcache-'));
    a = await startFrontend({ env, databaseUrl: db.url, port: await freePort(), driver: 'fs', dataDir, registries: [REGISTRY] });
    // A second frontend process on the same database (its own registry row; it serves REGISTRY by Host header).
    b = await startFrontend({ env, databaseUrl: db.url, port: await freePort(), driver: 'fs', dataDir, registries: ['mcacheb'] });
    registryId = a.ids[REGISTRY] ?? '';
    testAuthorization.header = (await seedSubscriptionPrincipal(a.ds, registryId)).basic;
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    admin = new Client({ connectionString: env['BERTH_DATABASE_URL'] });
    await admin.connect();
    for (const seed of ['one', 'two', 'three']) {
      const body = await a.ociImage(REGISTRY, REPO, seed);
      digests[seed] = digestOf(body);
      expect((await a.putManifest(REPO, seed, body, MediaTypes.OciManifest, HOST)).status).toBe(201);
    }
    await pollUntil('both listeners up', () => Promise.resolve(listening(a) && listening(b)), (up) => up, { timeoutMs: 10_000, intervalMs: 50 });
  });

  afterAll(async () => {
    testAuthorization.header = undefined;
    await admin?.query(`ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end();
    await sql?.end();
    await a?.stop();
    await b?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a repeated GET from memory (a write nobody announces is not seen)', async () => {
    expect((await a.putManifest(REPO, 'cached', await a.ociImage(REGISTRY, REPO, 'one'), MediaTypes.OciManifest, HOST)).status).toBe(201);
    expect(await digestAtA('cached')).toBe(digests['one']);
    expect(a.svc.app.get(ManifestCache).size.answers).toBeGreaterThan(0);
    await silently(`UPDATE tags SET manifest_digest = $1 WHERE registry_id = $2 AND name = 'cached'`, [digests['two'], registryId]);
    // The unannounced change is invisible: the answer comes from memory, with the bytes of the remembered digest.
    const r = await getA('cached');
    expect(r.headers.get('docker-content-digest')).toBe(digests['one']);
    expect(digestOf(r.body)).toBe(digests['one']);
  });

  it('sees a tag moved by another frontend process within the bound', async () => {
    expect(await digestAtA('one')).toBe(digests['one']);
    const moved = await httpCall(b.svc.url, 'PUT', `/v2/${REPO}/manifests/one`, {
      body: await a.ociImage(REGISTRY, REPO, 'two'),
      headers: { host: HOST, 'content-type': MediaTypes.OciManifest },
    });
    expect(moved.status).toBe(201);
    const started = Date.now();
    await pollUntil('the move to be seen', () => digestAtA('one'), (d) => d === digests['two'], { timeoutMs: STALENESS_BOUND_MS, intervalMs: 5 });
    expect(Date.now() - started).toBeLessThan(STALENESS_BOUND_MS);
  });

  it('sees a tag lock, a repository lock, a manifest lock and their removal made by plain SQL', async () => {
    expect(await digestAtA('three')).toBe(digests['three']);
    const bound = { timeoutMs: STALENESS_BOUND_MS, intervalMs: 5 };
    await sql.query(`UPDATE tags SET read_enabled = false WHERE registry_id = $1 AND name = 'three'`, [registryId]);
    await pollUntil('the tag lock', () => digestAtA('three'), (d) => d === '403 DENIED', bound);
    await sql.query(`UPDATE tags SET read_enabled = true WHERE registry_id = $1 AND name = 'three'`, [registryId]);
    await pollUntil('the tag unlock', () => digestAtA('three'), (d) => d === digests['three'], bound);

    await sql.query(`UPDATE repositories SET read_enabled = false WHERE registry_id = $1 AND name = $2`, [registryId, REPO]);
    await pollUntil('the repository lock', () => digestAtA('three'), (d) => d === '403 DENIED', bound);
    await sql.query(`UPDATE repositories SET read_enabled = true WHERE registry_id = $1 AND name = $2`, [registryId, REPO]);
    await pollUntil('the repository unlock', () => digestAtA('three'), (d) => d === digests['three'], bound);

    await sql.query(`UPDATE repository_manifests SET read_enabled = false WHERE registry_id = $1 AND digest = $2`, [registryId, digests['three']]);
    await pollUntil('the manifest lock (by digest too)', () => digestAtA(digests['three'] ?? ''), (d) => d === '403 DENIED', bound);
    expect(await digestAtA('three')).toBe('403 DENIED');
    await sql.query(`UPDATE repository_manifests SET read_enabled = true WHERE registry_id = $1 AND digest = $2`, [registryId, digests['three']]);
    await pollUntil('the manifest unlock', () => digestAtA('three'), (d) => d === digests['three'], bound);
  });

  it('sees a tag deleted by another process and a repository deleted by plain SQL', async () => {
    expect(await digestAtA('two')).toBe(digests['two']);
    const deleted = await httpCall(b.svc.url, 'DELETE', `/v2/${REPO}/manifests/two`, { headers: { host: HOST } });
    expect(deleted.status).toBe(202);
    const bound = { timeoutMs: STALENESS_BOUND_MS, intervalMs: 5 };
    await pollUntil('the tag delete', () => digestAtA('two'), (d) => d === '404 MANIFEST_UNKNOWN', bound);

    const other = 'team/gone';
    expect((await a.putManifest(other, 'x', await a.ociImage(REGISTRY, other, 'gone'), MediaTypes.OciManifest, HOST)).status).toBe(201);
    const getOther = async (): Promise<number> => (await a.call('GET', `/v2/${other}/manifests/x`, { headers: { host: HOST } })).status;
    expect(await getOther()).toBe(200);
    await sql.query(`DELETE FROM repositories WHERE registry_id = $1 AND name = $2`, [registryId, other]);
    await pollUntil('the repository delete (cascading to its tags)', getOther, (s) => s === 404, bound);
  });

  it('serves nothing from memory while the listening connection is down, and caches again once it is back', async () => {
    const database = new URL(db.url).pathname.slice(1);
    expect((await a.putManifest(REPO, 'outage', await a.ociImage(REGISTRY, REPO, 'one'), MediaTypes.OciManifest, HOST)).status).toBe(201);
    expect(await digestAtA('outage')).toBe(digests['one']);
    // Keep the listener from coming back (the frontends' pooled connections stay open), then cut it.
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    try {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE '%:listen'`,
        [database],
      );
      await pollUntil('the listeners to notice', () => Promise.resolve(listening(a) || listening(b)), (up) => !up, { timeoutMs: 10_000, intervalMs: 20 });
      expect(a.svc.app.get(ManifestCache).isActive).toBe(false);
      // Changes nobody announces are seen at once: every read goes to the database.
      for (const seed of ['two', 'three', 'one'] as const) {
        await silently(`UPDATE tags SET manifest_digest = $1 WHERE registry_id = $2 AND name = 'outage'`, [digests[seed], registryId]);
        expect(await digestAtA('outage')).toBe(digests[seed]);
        expect(await digestAtA('outage')).toBe(digests[seed]);
      }
    } finally {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    }
    await pollUntil('the listener to reconnect', () => Promise.resolve(listening(a)), (up) => up, { timeoutMs: 15_000, intervalMs: 50 });
    expect(await digestAtA('outage')).toBe(digests['one']);
    await silently(`UPDATE tags SET manifest_digest = $1 WHERE registry_id = $2 AND name = 'outage'`, [digests['two'], registryId]);
    expect(await digestAtA('outage')).toBe(digests['one']);
  });
});
