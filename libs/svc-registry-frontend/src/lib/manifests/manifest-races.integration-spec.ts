import { MediaTypes, digestOf } from '@berth/oci';
import { freePort, migratedDatabase, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFrontend, testAuthorization, type FrontendUnderTest } from './data-plane.test-util';

jest.setTimeout(120_000);

const REGISTRY = 'mfraces';

/**
 * Writes that race each other: pushes naming the same tags in opposite orders, and pushes racing the deletion of
 * their repository. Every answer must be one the spec allows (never a 500), and what is left must be consistent.
 */
describe('manifest writes racing each other', () => {
  let f: FrontendUnderTest;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'mfraces');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-mfraces-'));
    f = await startFrontend({
      env,
      databaseUrl: db.url,
      port: await freePort(),
      driver: 'fs',
      dataDir,
      registries: [REGISTRY],
    });
    testAuthorization.header = (await seedSubscriptionPrincipal(f.ds, f.ids[REGISTRY] ?? '')).basic;
  });

  afterAll(async () => {
    await f?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers pushes that name the same tags in opposite orders without a deadlock error', async () => {
    const bodies = await Promise.all(['x', 'y', 'z', 'w'].map((s) => f.ociImage(REGISTRY, 'race/tags', s)));
    const tags = ['t1', 't2', 't3', 't4', 't5'];
    const statuses: number[] = [];
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(
        bodies.map((body, i) => {
          const order = i % 2 === 0 ? tags : [...tags].reverse();
          const query = order.map((t) => `tag=${t}`).join('&');
          return f.call('PUT', `/v2/race/tags/manifests/${digestOf(body)}?${query}`, {
            body,
            headers: { 'content-type': MediaTypes.OciManifest },
          });
        }),
      );
      statuses.push(...answers.map((a) => a.status));
    }
    expect(new Set(statuses)).toEqual(new Set([201]));
    // Every tag names one of the pushed manifests.
    const pushed = new Set(bodies.map((b) => digestOf(b)));
    for (const t of tags) {
      const got = await f.call('HEAD', `/v2/race/tags/manifests/${t}`);
      expect(got.status).toBe(200);
      expect(pushed.has(got.headers.get('docker-content-digest') ?? '')).toBe(true);
    }
  });

  it('answers pushes racing the deletion of their repository with spec errors, never a 500', async () => {
    const seen: number[] = [];
    for (let round = 0; round < 10; round++) {
      const repo = `race/del${round}`;
      const bodies = await Promise.all(['a', 'b', 'c'].map((s) => f.ociImage(REGISTRY, repo, `${round}${s}`)));
      const [first] = bodies;
      if (!first) throw new Error('no image');
      expect((await f.putManifest(repo, 'seed', first)).status).toBe(201);
      const answers = await Promise.all([
        ...bodies.map((body, i) => f.putManifest(repo, `v${i}`, body)),
        f.call('DELETE', `/acr/v1/${repo}`),
      ]);
      for (const a of answers) {
        seen.push(a.status);
        expect(a.status).not.toBeGreaterThanOrEqual(500);
      }
      // After the dust settles the repository is either gone or serves what it lists.
      const list = await f.call('GET', `/v2/${repo}/tags/list`);
      if (list.status === 200) {
        for (const t of (JSON.parse(list.body.toString()) as { tags: string[] }).tags) {
          expect((await f.call('GET', `/v2/${repo}/manifests/${t}`)).status).toBe(200);
        }
      } else {
        expect(list.status).toBe(404);
      }
    }
    // 201 (pushed), 202 (deleted), 404 or 400 (the repository or a blob vanished under the push).
    expect(seen.every((s) => [201, 202, 400, 404].includes(s))).toBe(true);
  });
});
