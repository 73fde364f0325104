import { MediaTypes } from '@berth/oci';
import { shutdownTelemetry, startTelemetry } from '@berth/telemetry';
import { freePort, migratedDatabase, seedSubscriptionPrincipal, stackEnv } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFrontend, testAuthorization, type FrontendUnderTest } from '../manifests/data-plane.test-util';

jest.setTimeout(120_000);

const READS_ALLOWED = 8;

/** Issue #7: the registry metrics on the frontend's /metrics move with pushes, pulls, bytes and throttling. */
describe('registry metrics on /metrics', () => {
  let f: FrontendUnderTest;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    startTelemetry({ serviceName: 'registry-frontend-metrics' });
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'regmetrics');
    dataDir = await mkdtemp(path.join(tmpdir(), 'berth-regmetrics-'));
    f = await startFrontend({
      env: {
        ...env,
        BERTH_TIER_OVERRIDES: JSON.stringify({ Premium: { throttle: { read: { perRegistry: READS_ALLOWED } } } }),
      },
      databaseUrl: db.url,
      port: await freePort(),
      driver: 'fs',
      dataDir,
      registries: ['metricsreg'],
    });
    testAuthorization.header = (await seedSubscriptionPrincipal(f.ds, f.ids['metricsreg'] ?? '')).basic;
  });

  afterAll(async () => {
    testAuthorization.header = undefined;
    await f?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await shutdownTelemetry();
  });

  async function series(): Promise<Map<string, number>> {
    const text = (await fetch(`${f.svc.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of (await text).split('\n')) {
      if (!line.startsWith('berth_registry_')) continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      const [name, labels = ''] = line.slice(0, line.lastIndexOf(' ')).split('{');
      const keep = labels
        .replace(/}$/, '')
        .split(',')
        .filter((l) => /^berth_(artifact|outcome|operation_class|delivery|quota)=/.test(l))
        .map((l) => l.slice('berth_'.length))
        .sort()
        .join(',');
      const key = `${name}{${keep}}`;
      out.set(key, (out.get(key) ?? 0) + value);
    }
    return out;
  }

  const delta = (before: Map<string, number>, after: Map<string, number>, key: string): number =>
    (after.get(key) ?? 0) - (before.get(key) ?? 0);

  it('counts pushes, pulls, bytes and throttled requests with bounded attributes', async () => {
    const before = await series();
    const manifest = await f.ociImage('metricsreg', 'metrics/app', 'm');
    const put = await f.putManifest('metrics/app', 'v1', manifest, MediaTypes.OciManifest);
    expect(put.status).toBe(201);
    const get = await f.call('GET', '/v2/metrics/app/manifests/v1', { headers: { accept: MediaTypes.OciManifest } });
    expect(get.status).toBe(200);
    let throttled = 0;
    for (let i = 0; i < READS_ALLOWED + 2; i += 1) {
      if ((await f.call('GET', '/v2/metrics/app/tags/list')).status === 429) throttled += 1;
    }
    expect(throttled).toBeGreaterThan(0);
    const after = await series();
    expect(delta(before, after, 'berth_registry_pushes_total{artifact="manifest",outcome="success"}')).toBe(1);
    expect(delta(before, after, 'berth_registry_pulls_total{artifact="manifest",outcome="success"}')).toBe(1);
    expect(delta(before, after, 'berth_registry_received_bytes_total{artifact="manifest"}')).toBe(manifest.length);
    expect(delta(before, after, 'berth_registry_sent_bytes_total{artifact="manifest",delivery="proxy"}')).toBe(
      manifest.length,
    );
    expect(delta(before, after, 'berth_registry_throttled_requests_total{operation_class="list"}')).toBe(throttled);
  });
});
