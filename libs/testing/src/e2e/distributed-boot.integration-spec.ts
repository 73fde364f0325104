import { basicAuth, freePort, http, migratedDatabase, pollUntil, stackEnv, startApp, stopProcess, type ServiceProcess } from '../index';
import { KafkaEventBus, RegistryTopics, decodeEventEnvelope, type ReceivedMessage } from '@berth/events';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';

/** Each service's dependencies, by the names its /readyz reports. */
const SERVICES: Record<string, string[]> = {
  'registry-frontend': ['postgres', 'redis', 's3'],
  'token-service': ['postgres', 'redis'],
  'metadata-service': ['kafka', 'postgres', 'redis', 's3'],
  'replication-worker': ['kafka', 'postgres', 's3'],
  'webhook-dispatcher': ['kafka', 'postgres'],
  'scan-worker': ['kafka', 'postgres', 's3'],
};

interface Readiness {
  status: string;
  checks: Record<string, string>;
  failing?: string[];
}

/** The operator principal (BERTH_BOOTSTRAP_CLIENT_ID/SECRET); it signs in to the default registry with Basic auth. */
const OPERATOR = { clientId: randomUUID(), secret: randomBytes(24).toString('base64url') };
const AUTH = basicAuth(OPERATOR.clientId, OPERATOR.secret);

describe('distributed mode: every service boots on the real stack', () => {
  const running: ServiceProcess[] = [];
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    const stack = stackEnv();
    // A database of its own, migrated first, as an operator's migrate Job does before the services start.
    db = await migratedDatabase(stack['BERTH_DATABASE_URL'] ?? '', 'boot');
    const env = {
      ...stack,
      BERTH_DATABASE_URL: db.url,
      BERTH_S3_BUCKET_PREFIX: `boot-${process.pid}-`,
      BERTH_BOOTSTRAP_CLIENT_ID: OPERATOR.clientId,
      BERTH_BOOTSTRAP_CLIENT_SECRET: OPERATOR.secret,
    };
    for (const name of Object.keys(SERVICES)) running.push(startApp(name, env, await freePort()));
  });

  afterAll(async () => {
    await Promise.allSettled(running.map((p) => stopProcess(p)));
    await db?.drop();
  });

  it.each(Object.entries(SERVICES))('%s answers /healthz, then /readyz with exactly its dependencies', async (name, deps) => {
    const svc = running.find((p) => p.name === name);
    if (!svc) throw new Error(`${name} not started`);
    await pollUntil(`${name} /healthz`, () => http(`${svc.url}/healthz`), (r) => r.status === 200, { timeoutMs: 90000 }).catch(
      (e: Error) => {
        throw new Error(`${e.message}\n--- ${name} output ---\n${svc.output().slice(-3000)}`);
      },
    );
    const ready = await pollUntil(`${name} /readyz`, () => http(`${svc.url}/readyz`), (r) => r.status === 200, { timeoutMs: 30000 });
    const body = ready.json<Readiness>();
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(deps);
    expect(Object.values(body.checks).every((v) => v === 'up')).toBe(true);
  });

  it('the frontend serves the OCI base endpoint: a challenge anonymously, 200 to the operator', async () => {
    const fe = running.find((p) => p.name === 'registry-frontend');
    if (!fe) throw new Error('registry-frontend not started');
    const anonymous = await pollUntil('GET /v2/', () => http(`${fe.url}/v2/`), (r) => r.status === 401, { timeoutMs: 30000 });
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/oauth2\/token",service="default\.berth\.localhost"$/);
    // The operator principal is created by token-service at start; the frontend sees it once it is there.
    const res = await pollUntil('GET /v2/ signed in', () => http(`${fe.url}/v2/`, { headers: { authorization: AUTH } }), (r) => r.status === 200, {
      timeoutMs: 30000,
    });
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(res.json()).toEqual({});
  });

  it('bootstraps the installation once: tenant, subscription, resource group, default registry, operator principal', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const count = async (sql: string): Promise<number> => Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
      await pollUntil('bootstrap rows', () => count(`SELECT count(*)::text AS n FROM role_assignments`), (n) => n === 1, { timeoutMs: 30000 });
      expect(await count(`SELECT count(*)::text AS n FROM tenants`)).toBe(1);
      expect(await count(`SELECT count(*)::text AS n FROM resource_groups WHERE name = 'berth'`)).toBe(1);
      const reg = await client.query<{ name: string; sku: string; login_server: string; location: string }>(
        `SELECT name, sku, login_server, location FROM registries`,
      );
      expect(reg.rows).toEqual([{ name: 'default', sku: 'Premium', login_server: 'default.berth.localhost', location: 'eastus' }]);
      const sp = await client.query<{ kind: string; password_hash: string }>(`SELECT kind, password_hash FROM principals`);
      expect(sp.rows).toHaveLength(1);
      expect(sp.rows[0]?.kind).toBe('ServicePrincipal');
      expect(sp.rows[0]?.password_hash).toMatch(/^scrypt\$/);
    } finally {
      await client.end();
    }
  });

  it('carries a push through the spine: frontend → Postgres outbox → relay (metadata-service) → Kafka', async () => {
    const fe = running.find((p) => p.name === 'registry-frontend');
    if (!fe) throw new Error('registry-frontend not started');
    const repo = `spine/${randomUUID().slice(0, 8)}`;
    const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const config = Buffer.from('{}');
    const layer = Buffer.from(`layer ${randomUUID()}`);
    for (const blob of [config, layer]) {
      const res = await http(`${fe.url}/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', authorization: AUTH },
        body: blob,
      });
      expect(res.status).toBe(201);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
      }),
    );

    const bus = new KafkaEventBus({ brokers: (stackEnv()['BERTH_KAFKA_BROKERS'] ?? '').split(','), clientId: 'spine-test' });
    const received: ReceivedMessage[] = [];
    const sub = await bus.subscribe(RegistryTopics.Events, { groupId: `spine-${randomUUID()}`, fromBeginning: true }, async (m) => {
      received.push(m);
      return Promise.resolve();
    });
    try {
      const put = await http(`${fe.url}/v2/${repo}/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', authorization: AUTH },
        body: manifest,
      });
      expect(put.status).toBe(201);
      const ours = await pollUntil(
        'the push event on Kafka',
        () => Promise.resolve(received.map((m) => decodeEventEnvelope<{ action: string; target?: Record<string, unknown> }>(m))),
        (events) => events.some((e) => e.data.target?.['repository'] === repo),
        { timeoutMs: 30000 },
      );
      const event = ours.find((e) => e.data.target?.['repository'] === repo);
      expect(event?.data).toMatchObject({
        action: 'push',
        target: { repository: repo, tag: 'v1', digest: sha(manifest), size: manifest.length, length: manifest.length },
      });
      const msg = received.find((m) => decodeEventEnvelope(m).id === event?.id);
      expect(msg?.headers['berth-event-id']).toBe(event?.id);
      expect(msg?.key).toBe(event?.registryId);
    } finally {
      await sub.stop();
      await bus.close();
    }
  });

  it('logs one JSON object per line, naming the service', () => {
    for (const svc of running) {
      const lines = svc.output().split('\n').filter((l) => l.trim());
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const entry = JSON.parse(line) as { service: string; level: string; time: string };
        expect(entry.service).toBe(svc.name);
        expect(typeof entry.level).toBe('string');
      }
    }
  });

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    const codes = await Promise.all(running.map((p) => stopProcess(p)));
    expect(codes).toEqual(running.map(() => 0));
    for (const svc of running) expect(svc.output()).toContain('"msg":"stopped"');
  });
});
