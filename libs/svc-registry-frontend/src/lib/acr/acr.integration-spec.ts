import { MediaTypes, digestOf } from '@berth/oci';
import { freePort, migratedDatabase, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorCode, startFrontend, testAuthorization, type FrontendUnderTest, type TestResponse } from '../manifests/data-plane.test-util';
import type { ManifestAttributesBase } from './acr-manifests.service';
import type { TagAttributesBase } from './acr-tags.service';

jest.setTimeout(120_000);

const REG = 'acrdefault';
const OTHER = 'acrother';
const OTHER_HOST = `${OTHER}.berth.localhost`;
const JSON_TYPE = { 'content-type': 'application/json' };

interface TagList {
  registry: string;
  imageName: string;
  tags: TagAttributesBase[];
}

interface ManifestList {
  registry: string;
  imageName: string;
  manifests: ManifestAttributesBase[];
}

/** The ACR data-plane API (`/acr/v1`) over HTTP, with the locks it sets enforced on `/v2`, against each blob driver. */
describe.each(['s3', 'fs'] as const)('ACR data-plane API (BERTH_BLOB_DRIVER=%s)', (driver) => {
  let f: FrontendUnderTest;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'acr');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-acr-'));
    f = await startFrontend({ env, databaseUrl: db.url, port: await freePort(), driver, dataDir, registries: [REG, OTHER] });
    // The subscription's Owner: every data-plane access on both registries.
    testAuthorization.header = (await seedSubscriptionPrincipal(f.ds, f.ids[REG] ?? '')).basic;
  });

  afterAll(async () => {
    await f?.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const get = (p: string, headers: Record<string, string> = {}): Promise<TestResponse> => f.call('GET', p, { headers });
  const patch = (p: string, body: unknown, headers: Record<string, string> = JSON_TYPE): Promise<TestResponse> =>
    f.call('PATCH', p, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });

  /** Pushes an image under each tag, in order (so their update times ascend), and answers its bytes. */
  async function push(repo: string, seed: string, ...tags: string[]): Promise<Buffer> {
    const body = await f.ociImage(REG, repo, seed);
    for (const tag of tags) expect((await f.putManifest(repo, tag, body)).status).toBe(201);
    if (tags.length === 0) expect((await f.putManifest(repo, digestOf(body), body)).status).toBe(201);
    return body;
  }

  it('lists the catalog of the addressed registry, paginated with a Link the SDK can follow, hiding unlisted repositories', async () => {
    for (const repo of ['cat/a', 'cat/b', 'cat/c']) await push(repo, repo, 'v1');
    await f.ociImage(OTHER, 'cat/other', 'o');
    const first = await get('/acr/v1/_catalog?n=2&api-version=2021-07-01');
    expect(first.status).toBe(200);
    expect(first.json<{ repositories: string[] }>().repositories).toEqual(['cat/a', 'cat/b']);
    const link = first.headers.get('link') ?? '';
    expect(link).toMatch(/^<\/acr\/v1\/_catalog\?.*>; rel="next"$/);
    const next = await get(link.slice(1, link.indexOf('>')));
    expect(next.json<{ repositories: string[] }>().repositories).toEqual(['cat/c']);
    expect(next.headers.get('link')).toBeNull();

    expect((await patch('/acr/v1/cat/b', { listEnabled: false })).status).toBe(200);
    expect((await get('/acr/v1/_catalog')).json<{ repositories: string[] }>().repositories).toEqual(['cat/a', 'cat/c']);
    expect((await get('/v2/_catalog')).json<{ repositories: string[] }>().repositories).toEqual(['cat/a', 'cat/c']);
    // An unlisted repository lists nothing inside it, but stays readable by name.
    expect((await get('/acr/v1/cat/b/_tags')).json<TagList>().tags).toEqual([]);
    expect((await get('/acr/v1/cat/b/_manifests')).json<ManifestList>().manifests).toEqual([]);
    expect((await get('/v2/cat/b/tags/list')).json<{ tags: string[] }>().tags).toEqual([]);
    expect((await get('/acr/v1/cat/b/_tags/v1')).status).toBe(200);
    expect((await get('/v2/cat/b/manifests/v1')).status).toBe(200);

    expect((await get('/acr/v1/_catalog', { host: OTHER_HOST })).json<{ repositories: string[] }>().repositories).toEqual(['cat/other']);
  });

  it('answers repository attributes and updates them; an unknown repository is NAME_UNKNOWN, also across registries', async () => {
    const body = await push('attrs/app', 'attrs', 'v1', 'v2');
    const r = await get('/acr/v1/attrs/app?api-version=2021-07-01');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const attrs = r.json<Record<string, unknown>>();
    expect(attrs).toMatchObject({
      registry: `${REG}.berth.localhost`,
      imageName: 'attrs/app',
      manifestCount: 1,
      tagCount: 2,
      changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true },
    });
    expect(Date.parse(String(attrs['lastUpdateTime']))).toBeGreaterThanOrEqual(Date.parse(String(attrs['createdTime'])));

    const locked = await patch('/acr/v1/attrs/app', { writeEnabled: false, deleteEnabled: false });
    expect(locked.status).toBe(200);
    expect(locked.json<{ changeableAttributes: unknown }>().changeableAttributes).toEqual({
      deleteEnabled: false,
      writeEnabled: false,
      readEnabled: true,
      listEnabled: true,
    });
    // A write-locked repository refuses pushes, moves and deletes of anything in it.
    expect(errorCode(await f.putManifest('attrs/app', 'v3', body))).toBe('DENIED');
    expect((await f.call('DELETE', '/acr/v1/attrs/app/_tags/v1')).status).toBe(403);
    expect((await f.call('DELETE', '/acr/v1/attrs/app')).status).toBe(403);
    expect((await get('/acr/v1/attrs/app')).json<{ tagCount: number }>().tagCount).toBe(2);
    expect((await patch('/acr/v1/attrs/app', { writeEnabled: true, deleteEnabled: true })).status).toBe(200);

    for (const p of ['/acr/v1/nope', '/acr/v1/nope/_tags', '/acr/v1/nope/_manifests', '/acr/v1/nope/_tags/v1']) {
      const res = await get(p);
      expect([p, res.status, errorCode(res)]).toEqual([p, 404, 'NAME_UNKNOWN']);
    }
    const cross = await get('/acr/v1/attrs/app', { host: OTHER_HOST });
    expect([cross.status, errorCode(cross)]).toEqual([404, 'NAME_UNKNOWN']);
    expect((await patch('/acr/v1/attrs/app', { writeEnabled: false }, { ...JSON_TYPE, host: OTHER_HOST })).status).toBe(404);
    expect((await f.call('DELETE', '/acr/v1/attrs/app', { headers: { host: OTHER_HOST } })).status).toBe(404);
    expect((await get('/acr/v1/attrs/app')).status).toBe(200);
  });

  it('refuses malformed PATCH bodies with 400 (415 for a non-JSON type) in the AcrErrors shape and changes nothing', async () => {
    await push('bodies/app', 'bodies', 'v1');
    const before = (await get('/acr/v1/bodies/app/_tags/v1')).json<{ tag: TagAttributesBase }>().tag;
    const cases: Array<[string, Record<string, string>, number]> = [
      ['{"writeEnabled":', JSON_TYPE, 400],
      ['', JSON_TYPE, 400],
      ['[]', JSON_TYPE, 400],
      ['{"writeEnabled":"false"}', JSON_TYPE, 400],
      ['{"writeEnabled":false,"owner":"me"}', JSON_TYPE, 400],
      ['{"quarantineState":"Passed"}', JSON_TYPE, 400],
      ['{"writeEnabled":false}', { 'content-type': 'text/plain' }, 415],
    ];
    for (const [body, headers, status] of cases) {
      for (const p of ['/acr/v1/bodies/app', '/acr/v1/bodies/app/_tags/v1']) {
        const r = await patch(p, body, headers);
        expect([p, body, r.status]).toEqual([p, body, status]);
        const err = r.json<{ errors: Array<{ code: string; message: string }> }>().errors[0];
        expect(err?.message).toEqual(expect.any(String));
        expect(r.body.toString()).not.toMatch(/ at .*\.ts|node_modules/);
      }
    }
    const big = await patch('/acr/v1/bodies/app', `{"x":"${'a'.repeat(70 * 1024)}"}`);
    expect(big.status).toBe(413);
    expect((await get('/acr/v1/bodies/app/_tags/v1')).json<{ tag: TagAttributesBase }>().tag).toEqual(before);
    expect((await get('/acr/v1/bodies/app')).json<{ changeableAttributes: { writeEnabled: boolean } }>().changeableAttributes.writeEnabled).toBe(true);
    // Unsupported methods and paths.
    expect((await f.call('POST', '/acr/v1/bodies/app/_tags')).status).toBe(405);
    expect((await f.call('PUT', '/acr/v1/_catalog')).status).toBe(405);
    expect(errorCode(await get('/acr/v1/bodies/app/_tags?orderby=random'))).toBeDefined();
    expect((await get('/acr/v1/bodies/app/_tags?orderby=random')).status).toBe(400);
    expect((await get('/acr/v1/bodies/app/_tags?n=abc')).status).toBe(400);
    expect((await get('/acr/v1/bodies/app/_tags?digest=sha256:nothex')).status).toBe(400);
    expect((await get('/acr/v1/bodies/app/_tags/bad:tag')).status).toBe(400);
  });

  it('lists tags by name or time, paginated with orderby kept in the Link, filtered by digest, hiding unlisted ones', async () => {
    const one = await push('tags/app', 't1', 'b');
    const two = await push('tags/app', 't2', 'c', 'a');
    const names = async (q: string): Promise<string[]> => (await get(`/acr/v1/tags/app/_tags${q}`)).json<TagList>().tags.map((t) => t.name);
    expect(await names('')).toEqual(['a', 'b', 'c']);
    expect(await names('?orderby=timedesc')).toEqual(['a', 'c', 'b']);
    expect(await names('?orderby=timeasc')).toEqual(['b', 'c', 'a']);
    expect(await names(`?digest=${digestOf(two)}`)).toEqual(['a', 'c']);

    const seen: string[] = [];
    let next: string | undefined = '/acr/v1/tags/app/_tags?orderby=timedesc&n=1';
    while (next) {
      const page = await get(next);
      seen.push(...page.json<TagList>().tags.map((t) => t.name));
      const link = page.headers.get('link');
      if (link) expect(link).toContain('orderby=timedesc');
      next = link ? link.slice(1, link.indexOf('>')) : undefined;
    }
    expect(seen).toEqual(['a', 'c', 'b']);
    expect((await get('/acr/v1/tags/app/_tags?orderby=timedesc&last=gone')).status).toBe(400);

    const list = (await get('/acr/v1/tags/app/_tags')).json<TagList>();
    expect(list).toMatchObject({ registry: `${REG}.berth.localhost`, imageName: 'tags/app' });
    expect(list.tags[1]).toEqual({
      name: 'b',
      digest: digestOf(one),
      createdTime: expect.stringMatching(/Z$/),
      lastUpdateTime: expect.stringMatching(/Z$/),
      signed: false,
      changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true },
    });

    expect((await patch('/acr/v1/tags/app/_tags/c', { listEnabled: false })).status).toBe(200);
    expect(await names('')).toEqual(['a', 'b']);
    expect((await get('/v2/tags/app/tags/list')).json<{ tags: string[] }>().tags).toEqual(['a', 'b']);
    expect((await get('/acr/v1/tags/app/_tags/c')).json<{ tag: TagAttributesBase }>().tag.changeableAttributes.listEnabled).toBe(false);
    const manifest = (await get(`/acr/v1/tags/app/_manifests/${digestOf(two)}`)).json<{ manifest: ManifestAttributesBase }>().manifest;
    expect(manifest.tags).toEqual(['a']);
  });

  it('locks a tag: a move, a re-push and a delete are refused; unlocked, the tag is deleted and its manifest stays', async () => {
    const one = await push('lock/app', 'l1', 'stable');
    const two = await f.ociImage(REG, 'lock/app', 'l2');
    const locked = await patch('/acr/v1/lock/app/_tags/stable', { writeEnabled: false, deleteEnabled: false });
    expect(locked.json<{ tag: TagAttributesBase }>().tag.changeableAttributes).toMatchObject({ writeEnabled: false, deleteEnabled: false });

    for (const attempt of [await f.putManifest('lock/app', 'stable', two), await f.putManifest('lock/app', 'stable', one)]) {
      expect([attempt.status, errorCode(attempt)]).toEqual([403, 'DENIED']);
    }
    expect((await f.call('DELETE', '/acr/v1/lock/app/_tags/stable')).status).toBe(403);
    expect((await f.call('DELETE', '/v2/lock/app/manifests/stable')).status).toBe(403);
    expect((await f.call('DELETE', `/acr/v1/lock/app/_manifests/${digestOf(one)}`)).status).toBe(403);
    expect((await get('/v2/lock/app/manifests/stable')).headers.get('docker-content-digest')).toBe(digestOf(one));

    expect((await patch('/acr/v1/lock/app/_tags/stable', { writeEnabled: true, deleteEnabled: true })).status).toBe(200);
    const untag = await f.call('DELETE', '/acr/v1/lock/app/_tags/stable?api-version=2021-07-01');
    expect(untag.status).toBe(202);
    expect((await get('/acr/v1/lock/app/_tags/stable')).status).toBe(404);
    expect((await f.call('DELETE', '/acr/v1/lock/app/_tags/stable')).status).toBe(404);
    expect((await get(`/v2/lock/app/manifests/${digestOf(one)}`)).status).toBe(200);
    expect((await f.outboxFor(digestOf(one))).map((e) => e.payload.data.action)).toEqual(['push']);
  });

  it('lists manifests with ACR fields, by time, and answers one by digest or tag', async () => {
    const older = await push('mf/app', 'm1', 'old');
    const newer = await push('mf/app', 'm2', 'new', 'latest');
    const child = JSON.parse(newer.toString()) as { config: { size: number }; layers: Array<{ size: number }> };
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciIndex,
        manifests: [{ mediaType: MediaTypes.OciManifest, digest: digestOf(newer), size: newer.length, platform: { architecture: 'arm64', os: 'linux' } }],
      }),
    );
    expect((await f.putManifest('mf/app', 'multi', index, MediaTypes.OciIndex)).status).toBe(201);

    const list = (await get('/acr/v1/mf/app/_manifests?orderby=timedesc')).json<ManifestList>();
    expect(list.manifests.map((m) => m.digest)).toEqual([digestOf(index), digestOf(newer), digestOf(older)]);
    expect(list.manifests[1]).toEqual({
      digest: digestOf(newer),
      imageSize: newer.length + child.config.size + (child.layers[0]?.size ?? 0),
      createdTime: expect.stringMatching(/Z$/),
      lastUpdateTime: expect.stringMatching(/Z$/),
      architecture: 'amd64',
      os: 'linux',
      mediaType: MediaTypes.OciManifest,
      configMediaType: MediaTypes.OciConfig,
      tags: ['latest', 'new'],
      changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true },
    });
    expect(list.manifests[0]).toMatchObject({
      mediaType: MediaTypes.OciIndex,
      architecture: null,
      tags: ['multi'],
      references: [{ digest: digestOf(newer), architecture: 'arm64', os: 'linux' }],
    });
    expect((await get('/acr/v1/mf/app/_manifests?orderby=timeasc')).json<ManifestList>().manifests.map((m) => m.digest)).toEqual([
      digestOf(older),
      digestOf(newer),
      digestOf(index),
    ]);
    const page = await get('/acr/v1/mf/app/_manifests?n=2');
    const sorted = [digestOf(older), digestOf(newer), digestOf(index)].sort();
    expect(page.json<ManifestList>().manifests.map((m) => m.digest)).toEqual(sorted.slice(0, 2));
    const link = page.headers.get('link') ?? '';
    expect((await get(link.slice(1, link.indexOf('>')))).json<ManifestList>().manifests.map((m) => m.digest)).toEqual(sorted.slice(2));

    const byTag = await get('/acr/v1/mf/app/_manifests/latest');
    expect(byTag.json<{ registry: string; imageName: string; manifest: ManifestAttributesBase }>()).toMatchObject({
      registry: `${REG}.berth.localhost`,
      imageName: 'mf/app',
      manifest: { digest: digestOf(newer) },
    });
    expect((await get(`/acr/v1/mf/app/_manifests/${digestOf(Buffer.from('nope'))}`)).status).toBe(404);
    expect(errorCode(await get(`/acr/v1/mf/app/_manifests/${digestOf(Buffer.from('nope'))}`))).toBe('MANIFEST_UNKNOWN');
  });

  it('updates manifest attributes and quarantine state; read-disabled blocks pulls, unlisted hides, locked refuses delete', async () => {
    const body = await push('mfattr/app', 'ma', 'v1');
    const d = digestOf(body);
    const q = await patch(`/acr/v1/mfattr/app/_manifests/${d}`, { quarantineState: 'Passed', quarantineDetails: '{"state":"scan passed"}' });
    expect(q.status).toBe(200);
    expect(q.json<{ manifest: ManifestAttributesBase }>().manifest.changeableAttributes).toEqual({
      deleteEnabled: true,
      writeEnabled: true,
      readEnabled: true,
      listEnabled: true,
      quarantineState: 'Passed',
      quarantineDetails: '{"state":"scan passed"}',
    });
    expect((await patch(`/acr/v1/mfattr/app/_manifests/${d}`, { quarantineState: 'Unknown' })).status).toBe(400);

    expect((await patch(`/acr/v1/mfattr/app/_manifests/${d}`, { readEnabled: false })).status).toBe(200);
    for (const ref of ['v1', d]) {
      const pull = await get(`/v2/mfattr/app/manifests/${ref}`);
      expect([pull.status, errorCode(pull)]).toEqual([403, 'DENIED']);
    }
    expect((await patch('/acr/v1/mfattr/app/_manifests/v1', { readEnabled: true, listEnabled: false })).status).toBe(200);
    expect((await get(`/v2/mfattr/app/manifests/v1`)).status).toBe(200);
    expect((await get('/acr/v1/mfattr/app/_manifests')).json<ManifestList>().manifests).toEqual([]);

    expect((await patch(`/acr/v1/mfattr/app/_manifests/${d}`, { deleteEnabled: false })).status).toBe(200);
    expect((await f.call('DELETE', `/v2/mfattr/app/manifests/${d}`)).status).toBe(403);
    expect((await f.call('DELETE', `/acr/v1/mfattr/app/_manifests/${d}`)).status).toBe(403);
    expect((await patch(`/acr/v1/mfattr/app/_manifests/${d}`, { deleteEnabled: true })).status).toBe(200);

    // A tag names its manifest: the manifest goes with all its tags, with one delete event.
    expect((await f.call('DELETE', '/acr/v1/mfattr/app/_manifests/v1')).status).toBe(202);
    expect((await get(`/v2/mfattr/app/manifests/${d}`)).status).toBe(404);
    expect((await get('/acr/v1/mfattr/app/_tags/v1')).status).toBe(404);
    expect((await f.outboxFor(d)).map((e) => e.payload.data.action)).toEqual(['push', 'delete']);
    expect((await f.call('DELETE', `/acr/v1/mfattr/app/_manifests/${d}`)).status).toBe(404);
  });

  it('deletes a repository with its tags, manifests and blob links in one step, one event per manifest', async () => {
    const one = await push('gone/app', 'g1', 'v1', 'v2');
    const two = await push('gone/app', 'g2', 'v3');
    const keep = await push('gone/keep', 'g3', 'v1');
    await patch('/acr/v1/gone/app/_tags/v3', { deleteEnabled: false });
    const refused = await f.call('DELETE', '/acr/v1/gone/app');
    expect([refused.status, errorCode(refused)]).toEqual([403, 'DENIED']);
    expect((await get('/acr/v1/gone/app')).json<{ tagCount: number }>().tagCount).toBe(3);
    await patch('/acr/v1/gone/app/_tags/v3', { deleteEnabled: true });

    const del = await f.call('DELETE', '/acr/v1/gone/app?api-version=2021-07-01');
    expect(del.status).toBe(202);
    expect(del.json()).toEqual({ manifestsDeleted: [digestOf(one), digestOf(two)].sort(), tagsDeleted: ['v1', 'v2', 'v3'] });
    expect((await get('/acr/v1/gone/app')).status).toBe(404);
    expect((await get('/v2/gone/app/tags/list')).status).toBe(404);
    const [blobLinks] = (await f.ds.query(
      `SELECT count(*)::int AS n FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = 'gone/app'`,
    )) as Array<{ n: number }>;
    expect(blobLinks?.n).toBe(0);
    for (const m of [one, two]) {
      const events = await f.outboxFor(digestOf(m));
      expect(events.map((e) => e.payload.data.action)).toEqual([...Array(m === one ? 2 : 1).fill('push'), 'delete']);
      expect(events.at(-1)?.payload.data).toMatchObject({ target: { repository: 'gone/app', digest: digestOf(m) }, request: { method: 'DELETE' } });
    }
    expect((await get(`/v2/gone/keep/manifests/${digestOf(keep)}`)).status).toBe(200);
    expect((await f.call('DELETE', '/acr/v1/gone/app')).status).toBe(404);
  });

  it('raises chart_push and chart_delete with ACR chart payloads, naming the chart from its config when unannotated', async () => {
    const config = await f.seedBlob(REG, 'charts/db', '{"name":"postgres","version":"15.0.1","apiVersion":"v2"}');
    const layer = await f.seedBlob(REG, 'charts/db', 'chart-tgz-bytes');
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { mediaType: MediaTypes.HelmConfig, ...config },
        layers: [{ mediaType: MediaTypes.HelmChartContent, ...layer }],
      }),
    );
    expect((await f.putManifest('charts/db', '15.0.1', m)).status).toBe(201);
    const [pushed] = await f.outboxFor(digestOf(m));
    expect(pushed?.payload.type).toBe('ChartPushed');
    expect(pushed?.payload.data.target).toEqual({
      mediaType: MediaTypes.OciManifest,
      size: m.length,
      digest: digestOf(m),
      repository: 'charts/db',
      tag: '15.0.1',
      name: 'postgres',
      version: '15.0.1',
    });
    expect(await f.outboxFor(digestOf(m))).toHaveLength(1);
    expect((await f.call('DELETE', '/acr/v1/charts/db')).status).toBe(202);
    const events = await f.outboxFor(digestOf(m));
    expect(events.map((e) => e.payload.data.action)).toEqual(['chart_push', 'chart_delete']);
    expect(events[1]?.payload.data.target).toEqual({ ...pushed?.payload.data.target });
  });
});
