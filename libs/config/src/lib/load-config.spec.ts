import path from 'node:path';
import { ConfigError, loadConfig } from './load-config';

const distributed = {
  BERTH_DATABASE_URL: 'postgres://berth:s3cret-value@127.0.0.1:55432/berth',
  BERTH_S3_ENDPOINT: 'http://127.0.0.1:59000',
  BERTH_S3_ACCESS_KEY: 'berthadmin',
  BERTH_S3_SECRET_KEY: 'berthsecret123',
  BERTH_KAFKA_BROKERS: '127.0.0.1:59092',
  BERTH_REDIS_URL: 'redis://127.0.0.1:56379',
  BERTH_MASTER_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe(loadConfig.name, () => {
  it('needs nothing for the embedded default', () => {
    const c = loadConfig({}, 'embedded');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 5000, publicUrl: 'http://localhost:5000' });
    expect(c.dataDir).toBe(path.resolve('.berth-data'));
    expect(c.loginSuffix).toBe('berth.localhost');
    expect(c.database).toEqual({ url: undefined, embedded: true, migrate: true, poolSize: 20 });
    expect(c.storage.driver).toBe('fs');
    expect(c.bus.driver).toBe('inprocess');
    expect(c.cache.driver).toBe('memory');
    expect(c.regions).toEqual(['eastus', 'westeurope', 'southeastasia']);
    expect(c.bootstrap).toMatchObject({ tenant: 'berth', defaultRegistry: 'default', resourceGroup: 'berth' });
  });

  it('reads the distributed settings', () => {
    const c = loadConfig({ ...distributed, BERTH_PORT: '8080', BERTH_TLS: 'self-signed' }, 'distributed');
    expect(c.http).toEqual({ host: '0.0.0.0', port: 8080, publicUrl: 'https://localhost:8080' });
    expect(c.storage.s3).toMatchObject({ endpoint: 'http://127.0.0.1:59000', bucketPrefix: 'berth-' });
    expect(c.bus.brokers).toEqual(['127.0.0.1:59092']);
    expect(c.database.migrate).toBe(false);
    expect(c.cache).toEqual({ driver: 'redis', redisUrl: 'redis://127.0.0.1:56379', namespace: '' });
  });

  it('reads the Kafka and Redis namespaces of installations sharing those servers', () => {
    const c = loadConfig({ ...distributed, BERTH_KAFKA_NAMESPACE: 'tenant-a', BERTH_REDIS_NAMESPACE: 'tenant_a' }, 'distributed');
    expect(c.bus.namespace).toBe('tenant-a');
    expect(c.cache.namespace).toBe('tenant_a');
    expect(problemsOf(() => loadConfig({ ...distributed, BERTH_REDIS_NAMESPACE: 'a:b' }, 'distributed'))).toEqual([
      'BERTH_REDIS_NAMESPACE must be letters, digits, _ or -, at most 64',
    ]);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ BERTH_PORT: '' }, 'embedded').http.port).toBe(5000);
  });

  it('names every bad setting, never its value', () => {
    const secret = 'hunter2-very-secret';
    const problems = problemsOf(() =>
      loadConfig(
        {
          BERTH_PORT: '70000',
          BERTH_TLS: 'maybe',
          BERTH_REDIS_URL: secret,
          BERTH_CACHE: 'redis',
          BERTH_BUS: 'carrier-pigeon',
        },
        'embedded',
      ),
    );
    const text = problems.join('\n');
    expect(text).toMatch(/BERTH_PORT/);
    expect(text).toMatch(/BERTH_TLS must be one of/);
    expect(text).toMatch(/BERTH_REDIS_URL must be a redis:\/\/ URL/);
    expect(text).toMatch(/BERTH_BUS must be kafka or inprocess/);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('carrier-pigeon');
  });

  it('refuses a distributed process without its servers', () => {
    const text = problemsOf(() => loadConfig({}, 'distributed')).join('\n');
    expect(text).toMatch(/BERTH_DATABASE_URL is required/);
    expect(text).toMatch(/BERTH_S3_ENDPOINT/);
    expect(text).toMatch(/BERTH_KAFKA_BROKERS/);
    expect(text).toMatch(/BERTH_REDIS_URL/);
  });

  it('requires a master key of at least 32 bytes in distributed processes, never echoing it', () => {
    const { BERTH_MASTER_KEY: _key, ...noKey } = distributed;
    expect(problemsOf(() => loadConfig(noKey, 'distributed')).join()).toMatch(/BERTH_MASTER_KEY is required/);
    const short = 'c2hvcnQta2V5LXZhbHVl';
    const text = problemsOf(() => loadConfig({ ...distributed, BERTH_MASTER_KEY: short }, 'distributed')).join();
    expect(text).toMatch(/BERTH_MASTER_KEY must be hex or base64 of at least 32 bytes/);
    expect(text).not.toContain(short);
    expect(
      loadConfig({ ...distributed, BERTH_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, 'distributed').masterKey,
    ).toBeDefined();
    expect(loadConfig({}, 'embedded').masterKey).toBeUndefined();
  });

  it('requires the certificate files with BERTH_TLS=files, and a secret with a client id', () => {
    const text = problemsOf(() =>
      loadConfig({ BERTH_TLS: 'files', BERTH_BOOTSTRAP_CLIENT_ID: '6f1c1a52-3c47-4a4e-9a43-1f0e8b7c9d10' }, 'embedded'),
    ).join('\n');
    expect(text).toMatch(/BERTH_TLS_CERT is required/);
    expect(text).toMatch(/BERTH_TLS_KEY is required/);
    expect(text).toMatch(/BERTH_BOOTSTRAP_CLIENT_SECRET must be set/);
  });

  it('checks BERTH_TIER_OVERRIDES at start-up', () => {
    const raw = '{"Basic":{"throttle":{"read":{"perRegistry":5}}}}';
    expect(loadConfig({ BERTH_TIER_OVERRIDES: raw }, 'embedded').tierOverrides).toBe(raw);
    expect(loadConfig({}, 'embedded').tierOverrides).toBeUndefined();
    expect(problemsOf(() => loadConfig({ BERTH_TIER_OVERRIDES: '{"Gold":{}}' }, 'embedded')).join()).toMatch(
      /BERTH_TIER_OVERRIDES: unknown SKU "Gold"/,
    );
  });

  it('refuses bad booleans, repeated regions and bad registry names', () => {
    expect(problemsOf(() => loadConfig({ BERTH_DATABASE_MIGRATE: 'perhaps' }, 'embedded'))).toContain(
      'BERTH_DATABASE_MIGRATE must be true or false',
    );
    expect(problemsOf(() => loadConfig({ BERTH_REGIONS: 'eastus,eastus' }, 'embedded'))).toEqual([
      'BERTH_REGIONS must not repeat a region',
    ]);
    expect(problemsOf(() => loadConfig({ BERTH_BOOTSTRAP_CLIENT_ID: 'operator' }, 'embedded')).join()).toMatch(
      /BERTH_BOOTSTRAP_CLIENT_ID must be a GUID/,
    );
    expect(problemsOf(() => loadConfig({ BERTH_DEFAULT_REGISTRY: 'a-b' }, 'embedded')).join()).toMatch(
      /BERTH_DEFAULT_REGISTRY/,
    );
  });

  it('takes the database pool size within 1 to 500', () => {
    expect(loadConfig({ BERTH_DATABASE_POOL_SIZE: '64' }, 'embedded').database.poolSize).toBe(64);
    for (const bad of ['0', '501', 'many', '2.5']) {
      expect(problemsOf(() => loadConfig({ BERTH_DATABASE_POOL_SIZE: bad }, 'embedded')).join()).toMatch(
        /BERTH_DATABASE_POOL_SIZE/,
      );
    }
  });
});
