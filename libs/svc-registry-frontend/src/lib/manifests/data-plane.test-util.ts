import { DATA_SOURCE } from '@berth/db';
import type { EventEnvelope } from '@berth/events';
import { MediaTypes, digestOf } from '@berth/oci';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { REGISTRY_FRONTEND_NEEDS, RegistryFrontendModule } from '../registry-frontend.module';
import type { RegistryEventData } from './registry-events';

/**
 * Test helpers for the data plane over real HTTP (used by the integration specs only; @berth/testing stays
 * in the spec files, which pass in what it provides).
 *
 * `testAuthorization.header`, when set, is sent as `Authorization` on every request that sets none itself,
 * so the same tests run with authentication on.
 */
export const testAuthorization: { header?: string } = {};

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  json<T = unknown>(): T;
}

export interface CallInit {
  readonly body?: Buffer | string;
  readonly headers?: Record<string, string>;
}

export interface OutboxRow {
  topic: string;
  key: string;
  payload: EventEnvelope<RegistryEventData>;
}

export interface FrontendUnderTest {
  readonly svc: RunningService;
  readonly ds: DataSource;
  /** Registry ids by name. */
  readonly ids: Readonly<Record<string, string>>;
  call(method: string, path: string, init?: CallInit): Promise<TestResponse>;
  /** A blob stored the way a finished upload leaves it: storage first, then the blob row and the repository link. */
  seedBlob(registry: string, repo: string, content: Buffer | string): Promise<{ digest: string; size: number }>;
  /** An OCI image manifest (config with the given platform, one layer) whose blobs are seeded into the repository. */
  ociImage(registry: string, repo: string, seed: string, extra?: Record<string, unknown>): Promise<Buffer>;
  putManifest(repo: string, ref: string, body: Buffer, type?: string, host?: string): Promise<TestResponse>;
  /** Outbox rows whose event targets `digest`, in commit order. */
  outboxFor(digest: string): Promise<OutboxRow[]>;
  stop(): Promise<void>;
}

export interface FrontendOptions {
  /** stackEnv() of @berth/testing. */
  readonly env: NodeJS.ProcessEnv;
  readonly databaseUrl: string;
  readonly port: number;
  readonly driver: 's3' | 'fs';
  readonly dataDir: string;
  /** The first is the default registry (reached on 127.0.0.1); each is reachable as `<name>.berth.localhost`. */
  readonly registries: readonly string[];
}

/** Starts registry-frontend on the real stack with a tenant, a subscription and the given Premium registries in eastus. */
export async function startFrontend(o: FrontendOptions): Promise<FrontendUnderTest> {
  const svc = await startService(
    {
      name: 'registry-frontend',
      mode: 'distributed',
      rootModule: (config, logger) => serviceRoot(config, logger, { needs: REGISTRY_FRONTEND_NEEDS, modules: [RegistryFrontendModule] }),
    },
    {
      ...o.env,
      BERTH_DATABASE_URL: o.databaseUrl,
      BERTH_PORT: String(o.port),
      BERTH_HOST: '127.0.0.1',
      BERTH_LOG_LEVEL: 'error',
      BERTH_REGIONS: 'eastus',
      BERTH_BLOB_DRIVER: o.driver,
      BERTH_DATA_DIR: o.dataDir,
      BERTH_S3_BUCKET_PREFIX: `dp${randomUUID().slice(0, 8)}`,
      BERTH_DEFAULT_REGISTRY: o.registries[0] ?? 'default',
    },
  );
  const ds = svc.app.get<DataSource>(DATA_SOURCE);
  const ids: Record<string, string> = {};
  const [tenant] = (await ds.query(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`)) as Array<{ id: string }>;
  const [sub] = (await ds.query(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [tenant?.id])) as Array<{
    id: string;
  }>;
  const [rg] = (await ds.query(`INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'berth', 'eastus') RETURNING id`, [
    sub?.id,
  ])) as Array<{ id: string }>;
  for (const name of o.registries) {
    const [row] = (await ds.query(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku)
       VALUES ($1, $2, $3, $4, 'eastus', 'Premium') RETURNING id`,
      [sub?.id, rg?.id, name, `${name}.berth.localhost`],
    )) as Array<{ id: string }>;
    ids[name] = row?.id ?? '';
  }

  const call = (method: string, p: string, init: CallInit = {}): Promise<TestResponse> => httpCall(svc.url, method, p, init);

  const seedBlob = async (registry: string, repo: string, content: Buffer | string): Promise<{ digest: string; size: number }> => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const digest = digestOf(bytes);
    const registryId = ids[registry] ?? '';
    await svc.app.get<BlobStores>(BLOB_STORES).get('eastus').putBlob(registryId, Readable.from([bytes]), digest);
    await ds.query(`INSERT INTO blobs (registry_id, digest, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [registryId, digest, bytes.length]);
    await ds.query(`INSERT INTO repositories (registry_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [registryId, repo]);
    await ds.query(
      `INSERT INTO repository_blobs (repository_id, digest, registry_id)
       SELECT id, $2, registry_id FROM repositories WHERE registry_id = $1 AND name = $3 ON CONFLICT DO NOTHING`,
      [registryId, digest, repo],
    );
    return { digest, size: bytes.length };
  };

  const ociImage = async (registry: string, repo: string, seed: string, extra: Record<string, unknown> = {}): Promise<Buffer> => {
    const config = await seedBlob(registry, repo, JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
    const layer = await seedBlob(registry, repo, `layer-${seed}`);
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { mediaType: MediaTypes.OciConfig, ...config },
        layers: [{ mediaType: MediaTypes.OciLayerTarGzip, ...layer }],
        ...extra,
      }),
    );
  };

  return {
    svc,
    ds,
    ids,
    call,
    seedBlob,
    ociImage,
    putManifest: (repo, ref, body, type = MediaTypes.OciManifest, host) =>
      call('PUT', `/v2/${repo}/manifests/${ref}`, { body, headers: { 'content-type': type, ...(host ? { host } : {}) } }),
    outboxFor: async (digest) =>
      (await ds.query(`SELECT topic, key, payload FROM outbox_events WHERE payload->'data'->'target'->>'digest' = $1 ORDER BY seq`, [
        digest,
      ])) as OutboxRow[],
    stop: () => svc.stop(),
  };
}

/** node:http rather than fetch: fetch drops a caller-set Host header, and Host selects the registry. */
export function httpCall(baseUrl: string, method: string, p: string, init: CallInit = {}): Promise<TestResponse> {
  const url = new URL(baseUrl);
  const headers = { ...(testAuthorization.header ? { authorization: testAuthorization.header } : {}), ...(init.headers ?? {}) };
  return new Promise<TestResponse>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: p, headers, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.append(k, one);
        }
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: out, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The first AcrErrors/OCI error code of a response. */
export function errorCode(r: TestResponse): string | undefined {
  return r.json<{ errors: Array<{ code: string }> }>().errors[0]?.code;
}
