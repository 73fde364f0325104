import { MediaTypes, OCI_EMPTY_DESCRIPTOR, digestOf } from '@berth/oci';
import type { RunningService } from '@berth/platform';
import { freePort, migratedDatabase, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { errorCode, startFrontend, testAuthorization, type FrontendUnderTest } from './data-plane.test-util';

jest.setTimeout(120_000);

const DEFAULT_REGISTRY = 'mfdefault';
const OTHER_REGISTRY = 'mfother';
const OTHER_HOST = `${OTHER_REGISTRY}.berth.localhost`;

/** The manifests, tags, catalog and referrers API over HTTP, against each blob storage driver. */
describe.each(['s3', 'fs'] as const)('manifests API (BERTH_BLOB_DRIVER=%s)', (driver) => {
  let f: FrontendUnderTest;
  let svc: RunningService;
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  let dataDir: string;
  let ids: Readonly<Record<string, string>> = {};

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'manifests');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-manifests-'));
    f = await startFrontend({
      env,
      databaseUrl: db.url,
      port: await freePort(),
      driver,
      dataDir,
      registries: [DEFAULT_REGISTRY, OTHER_REGISTRY],
    });
    ({ svc, ds, ids } = f);
    testAuthorization.header = (await seedSubscriptionPrincipal(ds, ids[DEFAULT_REGISTRY] ?? '')).basic;
  });

  afterAll(async () => {
    await f?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call: FrontendUnderTest['call'] = (...args) => f.call(...args);
  const seedBlob: FrontendUnderTest['seedBlob'] = (...args) => f.seedBlob(...args);
  const ociImage: FrontendUnderTest['ociImage'] = (...args) => f.ociImage(...args);
  const putManifest: FrontendUnderTest['putManifest'] = (...args) => f.putManifest(...args);
  const outboxFor: FrontendUnderTest['outboxFor'] = (...args) => f.outboxFor(...args);

  it('pushes and pulls an OCI image by tag with exact bytes, headers and one push event', async () => {
    // Deliberate odd whitespace: the stored bytes must be exactly these.
    const body = Buffer.from(`${(await ociImage(DEFAULT_REGISTRY, 'app/web', 'a')).toString()}  \n`);
    const digest = digestOf(body);
    const put = await call('PUT', '/v2/app/web/manifests/v1', {
      body,
      headers: { 'content-type': MediaTypes.OciManifest, 'user-agent': 'berth-test/1', 'x-request-id': 'req-123' },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/app/web/manifests/${digest}`);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    expect(put.headers.get('oci-subject')).toBeNull();

    for (const ref of ['v1', digest]) {
      const get = await call('GET', `/v2/app/web/manifests/${ref}`);
      expect(get.status).toBe(200);
      expect(get.body.equals(body)).toBe(true);
      expect(get.headers.get('content-type')).toBe(MediaTypes.OciManifest);
      expect(get.headers.get('docker-content-digest')).toBe(digest);
      expect(get.headers.get('etag')).toBe(`"${digest}"`);
    }
    const head = await call('HEAD', '/v2/app/web/manifests/v1');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect(head.body.length).toBe(0);

    const cached = await call('GET', '/v2/app/web/manifests/v1', { headers: { 'if-none-match': `"${digest}"` } });
    expect(cached.status).toBe(304);
    expect(cached.body.length).toBe(0);

    const events = await outboxFor(digest);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.topic).toBe('berth.registry.events.v1');
    expect(event?.key).toBe(ids[DEFAULT_REGISTRY]);
    expect(event?.payload).toMatchObject({ type: 'ImagePushed', version: 1, registryId: ids[DEFAULT_REGISTRY] });
    expect(event?.payload.data).toMatchObject({
      action: 'push',
      target: { mediaType: MediaTypes.OciManifest, size: body.length, length: body.length, digest, repository: 'app/web', tag: 'v1' },
      request: { id: 'req-123', method: 'PUT', useragent: 'berth-test/1' },
    });
    expect(event?.payload.data.id).toBe(event?.payload.id);
    expect(event?.payload.data.request?.host).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('keeps the exact bytes of a manifest sent as application/json', async () => {
    const inner = await ociImage(DEFAULT_REGISTRY, 'app/json', 'j');
    const body = Buffer.from(`{ "schemaVersion" : 2,${inner.toString().slice(1)}`);
    // A generic Content-Type: the body's own mediaType decides; Fastify's JSON parser must not eat the bytes.
    const put = await putManifest('app/json', 'v1', body, 'application/json');
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digestOf(body));
    const get = await call('GET', '/v2/app/json/manifests/v1');
    expect(get.body.equals(body)).toBe(true);
    expect(get.headers.get('content-type')).toBe(MediaTypes.OciManifest);
  });

  it('pushes a Docker schema2 image and an OCI index whose children must exist', async () => {
    const config = await seedBlob(DEFAULT_REGISTRY, 'multi', '{"os":"linux"}');
    const layer = await seedBlob(DEFAULT_REGISTRY, 'multi', 'docker-layer');
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.DockerManifest,
        config: { mediaType: MediaTypes.DockerConfig, ...config },
        layers: [{ mediaType: MediaTypes.DockerLayer, ...layer }],
      }),
    );
    expect((await putManifest('multi', 'docker', docker, MediaTypes.DockerManifest)).status).toBe(201);
    const arm = await ociImage(DEFAULT_REGISTRY, 'multi', 'arm');

    const child = (m: Buffer, mediaType: string, arch: string) => ({
      mediaType,
      digest: digestOf(m),
      size: m.length,
      platform: { architecture: arch, os: 'linux' },
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciIndex,
        manifests: [child(docker, MediaTypes.DockerManifest, 'amd64'), child(arm, MediaTypes.OciManifest, 'arm64')],
      }),
    );
    // The arm64 child is not in the repository yet.
    const refused = await putManifest('multi', 'latest', index, MediaTypes.OciIndex);
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(refused.json<{ errors: Array<{ detail: { digest: string } }> }>().errors[0]?.detail.digest).toBe(digestOf(arm));
    expect((await call('GET', '/v2/multi/manifests/latest')).status).toBe(404);

    expect((await putManifest('multi', digestOf(arm), arm)).status).toBe(201);
    const ok = await putManifest('multi', 'latest', index, MediaTypes.OciIndex);
    expect(ok.status).toBe(201);
    const get = await call('GET', '/v2/multi/manifests/latest');
    expect(get.headers.get('content-type')).toBe(MediaTypes.OciIndex);
    expect(get.body.equals(index)).toBe(true);
    const refs = (await ds.query(
      `SELECT count(*)::int AS n FROM manifest_references WHERE registry_id = $1 AND manifest_digest = $2 AND child_digest IS NOT NULL`,
      [ids[DEFAULT_REGISTRY], digestOf(index)],
    )) as Array<{ n: number }>;
    expect(refs[0]?.n).toBe(2);
  });

  it('refuses bad manifests with the spec error and stores nothing', async () => {
    const before = (await ds.query(`SELECT count(*)::int AS n FROM manifests`)) as Array<{ n: number }>;
    const invalidJson = await putManifest('bad/one', 'v1', Buffer.from('{"schemaVersion": 2,'));
    expect(invalidJson.status).toBe(400);
    expect(errorCode(invalidJson)).toBe('MANIFEST_INVALID');

    const schema1 = await putManifest(
      'bad/one',
      'v1',
      Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'bad/one', tag: 'v1', fsLayers: [] })),
      MediaTypes.DockerSchema1SignedManifest,
    );
    expect(schema1.status).toBe(400);
    expect(errorCode(schema1)).toBe('MANIFEST_INVALID');

    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const tooLarge = await putManifest('bad/one', 'v1', huge);
    expect(tooLarge.status).toBe(413);
    expect(errorCode(tooLarge)).toBe('MANIFEST_INVALID');

    const missingLayer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: OCI_EMPTY_DESCRIPTOR,
        layers: [{ mediaType: MediaTypes.OciLayerTarGzip, digest: digestOf(Buffer.from('nope')), size: 4 }],
      }),
    );
    await seedBlob(DEFAULT_REGISTRY, 'bad/one', '{}');
    const unknownBlob = await putManifest('bad/one', 'v1', missingLayer);
    expect(unknownBlob.status).toBe(400);
    expect(errorCode(unknownBlob)).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(unknownBlob.body.toString()).toContain(digestOf(Buffer.from('nope')));

    const good = await ociImage(DEFAULT_REGISTRY, 'bad/one', 'mismatch');
    const wrongDigest = await putManifest('bad/one', digestOf(Buffer.from('other')), good);
    expect(wrongDigest.status).toBe(400);
    expect(errorCode(wrongDigest)).toBe('DIGEST_INVALID');

    const badTag = await putManifest('bad/one', '-bad', good);
    expect(badTag.status).toBe(400);
    expect(errorCode(badTag)).toBe('TAG_INVALID');

    const badDigest = await call('GET', '/v2/bad/one/manifests/sha256:totallywrong');
    expect(badDigest.status).toBe(400);
    expect(errorCode(badDigest)).toBe('DIGEST_INVALID');

    const after = (await ds.query(`SELECT count(*)::int AS n FROM manifests`)) as Array<{ n: number }>;
    expect(after[0]?.n).toBe(before[0]?.n);
    const tags = (await ds.query(`SELECT count(*)::int AS n FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = 'bad/one'`)) as Array<{ n: number }>;
    expect(tags[0]?.n).toBe(0);
    const unknown = await call('GET', '/v2/bad/one/manifests/v1');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('MANIFEST_UNKNOWN');
  });

  it('accepts an artifact whose subject is missing, answers OCI-Subject, and lists referrers with and without a filter', async () => {
    const subject = await ociImage(DEFAULT_REGISTRY, 'art', 'subject');
    const subjectDesc = { mediaType: MediaTypes.OciManifest, digest: digestOf(subject), size: subject.length };
    await seedBlob(DEFAULT_REGISTRY, 'art', '{}');
    const sig = await seedBlob(DEFAULT_REGISTRY, 'art', 'signature-bytes');
    const artifact = (artifactType: string, note: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.OciManifest,
          artifactType,
          config: OCI_EMPTY_DESCRIPTOR,
          layers: [{ mediaType: 'application/octet-stream', ...sig }],
          subject: subjectDesc,
          annotations: { note },
        }),
      );
    const a = artifact('application/vnd.example.sig', 'a');
    const b = artifact('application/vnd.example.sbom', 'b');

    // Before anything refers to it: 200 and an empty index (also for a repository that does not exist).
    for (const repo of ['art', 'nothing/here']) {
      const empty = await call('GET', `/v2/${repo}/referrers/${subjectDesc.digest}`);
      expect(empty.status).toBe(200);
      expect(empty.headers.get('content-type')).toBe(MediaTypes.OciIndex);
      expect(empty.json()).toEqual({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] });
    }

    const putA = await putManifest('art', digestOf(a), a);
    expect(putA.status).toBe(201);
    expect(putA.headers.get('oci-subject')).toBe(subjectDesc.digest);
    expect((await putManifest('art', digestOf(b), b)).status).toBe(201);

    const all = await call('GET', `/v2/art/referrers/${subjectDesc.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('oci-filters-applied')).toBeNull();
    const listed = all.json<{ manifests: Array<Record<string, unknown>> }>().manifests;
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual({
      mediaType: MediaTypes.OciManifest,
      digest: digestOf(a),
      size: a.length,
      artifactType: 'application/vnd.example.sig',
      annotations: { note: 'a' },
    });

    const filtered = await call('GET', `/v2/art/referrers/${subjectDesc.digest}?artifactType=application/vnd.example.sbom`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(filtered.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest)).toEqual([digestOf(b)]);

    const invalid = await call('GET', '/v2/art/referrers/sha256:nothex');
    expect(invalid.status).toBe(400);

    // Another registry sees none of them.
    const other = await call('GET', `/v2/art/referrers/${subjectDesc.digest}`, { headers: { host: OTHER_HOST } });
    expect(other.json<{ manifests: unknown[] }>().manifests).toEqual([]);
  });

  it('paginates the tag list with Link, in lexical order, hiding unlisted tags', async () => {
    const m = await ociImage(DEFAULT_REGISTRY, 'paged', 'p');
    for (const tag of ['b', 'a', 'C', 'd', 'hidden']) expect((await putManifest('paged', tag, m)).status).toBe(201);
    await ds.query(`UPDATE tags SET list_enabled = false WHERE name = 'hidden'`);

    const all = await call('GET', '/v2/paged/tags/list');
    expect(all.json()).toEqual({ name: 'paged', tags: ['C', 'a', 'b', 'd'] });
    expect(all.headers.get('link')).toBeNull();

    const first = await call('GET', '/v2/paged/tags/list?n=2');
    expect(first.json()).toEqual({ name: 'paged', tags: ['C', 'a'] });
    expect(first.headers.get('link')).toBe('</v2/paged/tags/list?n=2&last=a>; rel="next"');
    const second = await call('GET', '/v2/paged/tags/list?n=2&last=a');
    expect(second.json()).toEqual({ name: 'paged', tags: ['b', 'd'] });
    expect(second.headers.get('link')).toBeNull();
    expect((await call('GET', '/v2/paged/tags/list?n=0')).json()).toEqual({ name: 'paged', tags: [] });
    expect((await call('GET', '/v2/paged/tags/list?n=x')).status).toBe(400);

    const unknown = await call('GET', '/v2/no/such/tags/list');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('NAME_UNKNOWN');
  });

  it('lists the catalog of the addressed registry only, paginated', async () => {
    const other = await ociImage(OTHER_REGISTRY, 'secret/repo', 'o');
    expect((await putManifest('secret/repo', 'v1', other, MediaTypes.OciManifest, OTHER_HOST)).status).toBe(201);

    const mine = (await call('GET', '/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    expect(mine).not.toContain('secret/repo');
    expect(mine).toEqual([...mine].sort());
    expect(mine.length).toBeGreaterThan(3);
    const theirs = await call('GET', '/v2/_catalog', { headers: { host: OTHER_HOST } });
    expect(theirs.json()).toEqual({ repositories: ['secret/repo'] });

    const p1 = await call('GET', '/v2/_catalog?n=2');
    expect(p1.json<{ repositories: string[] }>().repositories).toEqual(mine.slice(0, 2));
    expect(p1.headers.get('link')).toBe(`</v2/_catalog?n=2&last=${encodeURIComponent(mine[1] ?? '')}>; rel="next"`);
    const p2 = await call('GET', `/v2/_catalog?n=2&last=${encodeURIComponent(mine[1] ?? '')}`);
    expect(p2.json<{ repositories: string[] }>().repositories).toEqual(mine.slice(2, 4));

    // Tenant isolation: registry B cannot read A's manifest, even by digest.
    expect((await call('GET', `/v2/secret/repo/manifests/${digestOf(other)}`)).status).toBe(404);
    expect((await call('GET', '/v2/secret/repo/manifests/v1')).status).toBe(404);
    expect((await call('GET', `/v2/secret/repo/manifests/v1`, { headers: { host: OTHER_HOST } })).status).toBe(200);
  });

  it('refuses a manifest whose blobs live only in another repository or registry', async () => {
    const m = await ociImage(OTHER_REGISTRY, 'shared', 'iso');
    const refused = await putManifest('shared', 'v1', m);
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('MANIFEST_BLOB_UNKNOWN');
    const sameRegistryOtherRepo = await ociImage(DEFAULT_REGISTRY, 'owner', 'iso2');
    expect(errorCode(await putManifest('thief', 'v1', sameRegistryOtherRepo))).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('moves a tag, deletes by tag and by digest with one delete event', async () => {
    const one = await ociImage(DEFAULT_REGISTRY, 'life', '1');
    const two = await ociImage(DEFAULT_REGISTRY, 'life', '2');
    expect((await putManifest('life', 'cur', one)).status).toBe(201);
    expect((await putManifest('life', 'cur', two)).status).toBe(201);
    expect((await call('GET', '/v2/life/manifests/cur')).headers.get('docker-content-digest')).toBe(digestOf(two));
    expect((await call('GET', `/v2/life/manifests/${digestOf(one)}`)).status).toBe(200);

    expect((await putManifest('life', 'other', two)).status).toBe(201);
    const delTag = await call('DELETE', '/v2/life/manifests/other');
    expect(delTag.status).toBe(202);
    expect((await call('GET', '/v2/life/manifests/other')).status).toBe(404);
    expect((await call('GET', '/v2/life/manifests/cur')).status).toBe(200);
    expect((await outboxFor(digestOf(two))).filter((e) => e.payload.data.action === 'delete')).toHaveLength(0);

    const delManifest = await call('DELETE', `/v2/life/manifests/${digestOf(two)}`);
    expect(delManifest.status).toBe(202);
    expect((await call('GET', '/v2/life/manifests/cur')).status).toBe(404);
    expect((await call('GET', `/v2/life/manifests/${digestOf(two)}`)).status).toBe(404);
    expect((await call('DELETE', `/v2/life/manifests/${digestOf(two)}`)).status).toBe(404);
    const deletes = (await outboxFor(digestOf(two))).filter((e) => e.payload.data.action === 'delete');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.payload.data).toMatchObject({
      target: { mediaType: MediaTypes.OciManifest, digest: digestOf(two), repository: 'life' },
      request: { method: 'DELETE' },
    });
    expect(deletes[0]?.payload.type).toBe('ImageDeleted');
  });

  it('honours locks: a write-locked tag cannot move, a delete-locked one cannot be deleted, read-disabled is denied', async () => {
    const one = await ociImage(DEFAULT_REGISTRY, 'locked', 'l1');
    const two = await ociImage(DEFAULT_REGISTRY, 'locked', 'l2');
    expect((await putManifest('locked', 'stable', one)).status).toBe(201);
    await ds.query(`UPDATE tags SET write_enabled = false WHERE name = 'stable' AND registry_id = $1`, [ids[DEFAULT_REGISTRY]]);
    const eventsBefore = (await outboxFor(digestOf(two))).length;

    const move = await putManifest('locked', 'stable', two);
    expect(move.status).toBe(403);
    expect(errorCode(move)).toBe('DENIED');
    expect((await call('GET', '/v2/locked/manifests/stable')).headers.get('docker-content-digest')).toBe(digestOf(one));
    // Atomic: the refused push left neither the manifest nor its event.
    expect((await call('GET', `/v2/locked/manifests/${digestOf(two)}`)).status).toBe(404);
    expect((await outboxFor(digestOf(two))).length).toBe(eventsBefore);

    expect(errorCode(await call('DELETE', '/v2/locked/manifests/stable'))).toBe('DENIED');
    expect(errorCode(await call('DELETE', `/v2/locked/manifests/${digestOf(one)}`))).toBe('DENIED');

    await ds.query(`UPDATE tags SET write_enabled = true, delete_enabled = false WHERE name = 'stable'`);
    const del = await call('DELETE', '/v2/locked/manifests/stable');
    expect(del.status).toBe(403);
    expect(errorCode(del)).toBe('DENIED');

    await ds.query(`UPDATE tags SET read_enabled = false WHERE name = 'stable'`);
    expect((await call('GET', '/v2/locked/manifests/stable')).status).toBe(403);
    expect((await call('GET', `/v2/locked/manifests/${digestOf(one)}`)).status).toBe(200);

    await ds.query(`UPDATE repositories SET write_enabled = false WHERE name = 'locked'`);
    expect(errorCode(await putManifest('locked', 'new', two))).toBe('DENIED');
  });

  it('stores a sha512-addressed manifest, applies ?tag= parameters and answers OCI-Tag', async () => {
    const m = await ociImage(DEFAULT_REGISTRY, 'params', 's512');
    const d512 = digestOf(m, 'sha512');
    const put = await putManifest('params', `${d512}?tag=a&tag=b`, m);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(d512);
    expect(put.headers.get('location')).toBe(`/v2/params/manifests/${d512}`);
    expect(put.headers.get('oci-tag')).toBe('a, b');
    expect((await call('GET', '/v2/params/manifests/b')).headers.get('docker-content-digest')).toBe(d512);
    const events = await outboxFor(d512);
    expect(events.map((e) => e.payload.data.target.tag).sort()).toEqual(['a', 'b']);
  });

  it('raises chart_push with the chart name and version for a Helm chart', async () => {
    const config = await seedBlob(DEFAULT_REGISTRY, 'charts/web', '{"name":"web","version":"1.2.3"}');
    const chart = await seedBlob(DEFAULT_REGISTRY, 'charts/web', 'chart-tgz');
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { mediaType: MediaTypes.HelmConfig, ...config },
        layers: [{ mediaType: MediaTypes.HelmChartContent, ...chart }],
        annotations: { 'org.opencontainers.image.title': 'web', 'org.opencontainers.image.version': '1.2.3' },
      }),
    );
    expect((await putManifest('charts/web', '1.2.3', m)).status).toBe(201);
    const [event] = await outboxFor(digestOf(m));
    expect(event?.payload.type).toBe('ChartPushed');
    expect(event?.payload.data).toMatchObject({ action: 'chart_push', target: { name: 'web', version: '1.2.3', tag: '1.2.3' } });
    expect((await call('DELETE', `/v2/charts/web/manifests/${digestOf(m)}`)).status).toBe(202);
    const actions = (await outboxFor(digestOf(m))).map((e) => e.payload.data.action);
    expect(actions).toEqual(['chart_push', 'chart_delete']);
  });

  it('refuses a chunked body that grows past 4 MiB with 413 without a Content-Length', async () => {
    const url = new URL(svc.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v2/big/manifests/v1',
          headers: {
            'content-type': MediaTypes.OciManifest,
            'transfer-encoding': 'chunked',
            authorization: testAuthorization.header ?? '',
          },
          timeout: 15_000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      req.on('timeout', () => req.destroy(new Error('timed out')));
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 5; i += 1) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    const repos = (await ds.query(`SELECT count(*)::int AS n FROM repositories WHERE name = 'big'`)) as Array<{ n: number }>;
    expect(repos[0]?.n).toBe(0);
  });

  it('commits the manifest and its event atomically: a failing event insert leaves neither', async () => {
    const m = await ociImage(DEFAULT_REGISTRY, 'atomic', 'x');
    await ds.query(`ALTER TABLE outbox_events ADD CONSTRAINT test_no_outbox CHECK (topic = 'never') NOT VALID`);
    try {
      const put = await putManifest('atomic', 'v1', m);
      expect(put.status).toBe(500);
      expect(errorCode(put)).toBe('UNKNOWN');
      expect(put.body.toString()).not.toContain('test_no_outbox');
    } finally {
      await ds.query(`ALTER TABLE outbox_events DROP CONSTRAINT test_no_outbox`);
    }
    const stored = (await ds.query(`SELECT count(*)::int AS n FROM manifests WHERE registry_id = $1 AND digest = $2`, [
      ids[DEFAULT_REGISTRY],
      digestOf(m),
    ])) as Array<{ n: number }>;
    expect(stored[0]?.n).toBe(0);
    expect((await call('GET', '/v2/atomic/manifests/v1')).status).toBe(404);

    const ok = await putManifest('atomic', 'v1', m);
    expect(ok.status).toBe(201);
    expect(await outboxFor(digestOf(m))).toHaveLength(1);
  });
});
