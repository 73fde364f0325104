import { shutdownTelemetry, startTelemetry } from '@berth/telemetry';
import { freePort, migratedDatabase, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFrontend, testAuthorization, type FrontendUnderTest } from '../manifests/data-plane.test-util';

jest.setTimeout(120_000);

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Issue #7's upload duration: `berth.registry.upload.duration` moves on /metrics when uploads end. */
describe('upload duration on /metrics', () => {
  let f: FrontendUnderTest;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    startTelemetry({ serviceName: 'registry-frontend-upload-metrics' });
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'uploadmetrics');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-uploadmetrics-'));
    f = await startFrontend({ env, databaseUrl: db.url, port: await freePort(), driver: 'fs', dataDir, registries: ['uploadmetrics'] });
    testAuthorization.header = (await seedSubscriptionPrincipal(f.ds, f.ids['uploadmetrics'] ?? '')).basic;
  });

  afterAll(async () => {
    testAuthorization.header = undefined;
    await f?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await shutdownTelemetry();
  });

  /** `<count|sum>{outcome}` of the histogram, summed over the other attributes. */
  async function histogram(): Promise<Map<string, number>> {
    const text = await (await fetch(`${f.svc.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^berth_registry_upload_duration_(count|sum)\{(.*)\} (\S+)$/.exec(line);
      if (!m) continue;
      const outcome = /berth_outcome="([^"]+)"/.exec(m[2] ?? '')?.[1] ?? '';
      const key = `${m[1]}{${outcome}}`;
      out.set(key, (out.get(key) ?? 0) + Number(m[3]));
    }
    return out;
  }

  it('records every completed upload (chunked, POST + PUT, monolithic POST) and a discarded one, with its duration', async () => {
    const before = await histogram();
    const octet = { 'content-type': 'application/octet-stream' };

    // Chunked: POST, a pause, PATCH, PUT. The duration runs from the session's start, so it covers the pause.
    const chunked = randomBytes(3000);
    const post = await f.call('POST', '/v2/metrics/up/blobs/uploads/');
    expect(post.status).toBe(202);
    const loc = String(post.headers.get('location'));
    await new Promise((r) => setTimeout(r, 300));
    const patch = await f.call('PATCH', loc, { body: chunked.subarray(0, 1000), headers: { ...octet, 'content-range': '0-999' } });
    expect(patch.status).toBe(202);
    expect((await f.call('PUT', `${loc}?digest=${sha256(chunked)}`, { body: chunked.subarray(1000), headers: octet })).status).toBe(201);

    // POST, then one PUT with every byte.
    const whole = randomBytes(2000);
    const second = String((await f.call('POST', '/v2/metrics/up/blobs/uploads/')).headers.get('location'));
    expect((await f.call('PUT', `${second}?digest=${sha256(whole)}`, { body: whole, headers: octet })).status).toBe(201);

    // Monolithic POST with the digest.
    const mono = randomBytes(1000);
    expect((await f.call('POST', `/v2/metrics/up/blobs/uploads/?digest=${sha256(mono)}`, { body: mono, headers: octet })).status).toBe(201);

    // A wrong digest discards the upload: it ended, as the client's error.
    const third = String((await f.call('POST', '/v2/metrics/up/blobs/uploads/')).headers.get('location'));
    const bad = await f.call('PUT', `${third}?digest=${sha256(Buffer.from('other'))}`, { body: whole, headers: octet });
    expect(bad.status).toBe(400);

    // Requests that do not end an upload record nothing: a status GET, a refused chunk.
    const open = String((await f.call('POST', '/v2/metrics/up/blobs/uploads/')).headers.get('location'));
    expect((await f.call('GET', open)).status).toBe(204);
    expect((await f.call('PATCH', open, { body: Buffer.from('xy'), headers: { ...octet, 'content-range': '5-6' } })).status).toBe(416);

    const after = await histogram();
    const delta = (key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta('count{success}')).toBe(3);
    expect(delta('count{client_error}')).toBe(1);
    // The chunked upload alone lasted more than its 300 ms pause.
    expect(delta('sum{success}')).toBeGreaterThanOrEqual(0.3);
    expect(delta('sum{success}')).toBeLessThan(60);
  });
});
