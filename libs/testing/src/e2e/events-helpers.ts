import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { seedSubscriptionPrincipal } from '../lib/credentials';
import { migratedDatabase } from '../lib/database';
import { http as httpCall, pollUntil } from '../lib/poll';
import { freePort, startApp, stopProcess, type ServiceProcess } from '../lib/processes';

/**
 * Support for the event-backbone acceptance specs (events-*.integration-spec.ts): real services as processes, a
 * webhook receiver on 127.0.0.1, pushes over HTTP, and the SQL the management API would run to create webhooks.
 */

/** One request a receiver got. */
export interface ReceivedHook {
  path: string;
  /** Date.now() when it arrived. */
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP endpoint on 127.0.0.1 that records every POST and answers as scripted per path (default 200). */
export class WebhookReceiver {
  readonly requests: ReceivedHook[] = [];
  private readonly scripts = new Map<string, number[]>();
  private readonly held = new Set<string>();
  private readonly open: http.ServerResponse[] = [];

  private readonly server: http.Server;
  private address = '';

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        this.requests.push({
          path,
          at: Date.now(),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        if (this.held.delete(path)) {
          this.open.push(res); // never answered: the sender is mid-delivery until it gives up or dies
          return;
        }
        const status = this.scripts.get(path)?.shift() ?? 200;
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'thanks' : 'try later');
      });
    });
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.address;
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.address = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** The next requests to `path` get these statuses, in turn; then 200. */
  script(path: string, statuses: number[]): void {
    this.scripts.set(path, [...statuses]);
  }

  /** The next request to `path` is recorded and then left unanswered (the connection stays open). */
  holdNext(path: string): void {
    this.held.add(path);
  }

  /** What arrived at `path`, in arrival order. */
  at(path: string): ReceivedHook[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Pushes images over the registry's HTTP API (monolithic blob uploads, then the manifest), as a client would.
 * The one place e2e event specs authenticate: `authorization` is sent on every request.
 */
export class RegistryPusher {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization?: string,
  ) {}

  private headers(extra: Record<string, string>): Record<string, string> {
    return { ...(this.authorization ? { authorization: this.authorization } : {}), ...extra };
  }

  /**
   * Pushes a small unique image as `repo:tag`; resolves with the manifest's digest and size. `manifestHeaders` go on
   * the manifest PUT only (a `traceparent`, say: the request whose trace the push event continues).
   */
  async push(
    repo: string,
    tag: string,
    manifestHeaders: Record<string, string> = {},
  ): Promise<{ digest: string; size: number; mediaType: string }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomUUID() }));
    const layer = randomBytes(64);
    for (const blob of [config, layer]) {
      const res = await httpCall(`${this.baseUrl}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/octet-stream' }),
        body: blob,
        timeoutMs: 15000,
      });
      if (res.status !== 201)
        throw new Error(`blob upload to ${repo} answered ${res.status}: ${res.body.slice(0, 300)}`);
    }
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      }),
    );
    const put = await httpCall(`${this.baseUrl}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: this.headers({ ...manifestHeaders, 'content-type': mediaType }),
      body: manifest,
      timeoutMs: 15000,
    });
    if (put.status !== 201)
      throw new Error(`manifest PUT ${repo}:${tag} answered ${put.status}: ${put.body.slice(0, 300)}`);
    return { digest: sha256(manifest), size: manifest.length, mediaType };
  }
}

/** A webhook row, as the management API's create writes it. */
export interface WebhookSpec {
  name: string;
  serviceUri: string;
  actions?: string[];
  scope?: string;
  customHeaders?: Record<string, string>;
  status?: 'enabled' | 'disabled';
  location?: string;
}

/** A delivery-log row. */
export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  action: string;
  status: string;
  attempts: number;
  error: string | null;
  request: { content: Record<string, unknown>; headers: Record<string, string>; requestUri: string };
  response: {
    eventResponseMessage?: { statusCode: string };
    attempts: Array<{ attempt: number; startedAt: string; statusCode?: number; error?: string }>;
  } | null;
  created_at: Date;
}

export type ServiceName = 'metadata-service' | 'registry-frontend' | 'webhook-dispatcher' | 'token-service';

/**
 * Berth's distributed services as processes on a stack (the shared one or a PrivateStack), on a database of their
 * own and a Kafka namespace of their own (BERTH_KAFKA_NAMESPACE), so nothing another test publishes or consumes
 * reaches them. The bootstrap operator principal signs the pushes in.
 */
export class EventsBerth {
  readonly processes = new Map<ServiceName, ServiceProcess>();
  private sqlClient?: Client;
  private pushAuthorization?: string;

  private constructor(
    readonly env: Record<string, string>,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  /** Migrates a fresh database on `stack`'s Postgres; starts nothing yet. */
  static async create(
    prefix: string,
    stack: Record<string, string>,
    extraEnv: Record<string, string> = {},
  ): Promise<EventsBerth> {
    const db = await migratedDatabase(stack['BERTH_DATABASE_URL'] ?? '', prefix);
    const tag = `${prefix}${randomBytes(4).toString('hex')}`;
    const berth = new EventsBerth(
      {
        ...stack,
        BERTH_DATABASE_URL: db.url,
        BERTH_S3_BUCKET_PREFIX: `${tag}-`,
        BERTH_KAFKA_NAMESPACE: tag,
        BERTH_REDIS_NAMESPACE: tag,
        BERTH_WEBHOOK_ALLOWED_PRIVATE: '127.0.0.1/32',
        BERTH_LOG_LEVEL: 'info',
        ...extraEnv,
      },
      () => db.drop(),
    );
    return berth;
  }

  /**
   * Starts a service and waits until IT listens (its own `listening` log line: another process may hold the port
   * freePort() handed out, and answer /healthz in its place), then for /healthz. Consumers have subscribed by then:
   * Nest bootstraps before it listens. A start that lost its port (EADDRINUSE) is retried on a new one.
   */
  async start(name: ServiceName, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    for (let attempt = 1; ; attempt++) {
      const p = startApp(name, { ...this.env, ...extraEnv }, await freePort());
      let ended: number | string | undefined;
      void p.exited.then((code) => (ended = code));
      try {
        await pollUntil(
          `${name} to listen`,
          () => Promise.resolve(ended !== undefined || /"msg":"listening"/.test(p.output())),
          (done) => done,
          { timeoutMs: 90000 },
        );
        if (ended !== undefined) throw new Error(`${name} ended (${String(ended)})`);
        await pollUntil(
          `${name} /healthz`,
          async () => (ended !== undefined ? { status: -1 } : httpCall(`${p.url}/healthz`)),
          (r) => r.status === 200 || ended !== undefined,
          { timeoutMs: 30000 },
        );
        if (ended !== undefined) throw new Error(`${name} ended (${String(ended)})`);
        this.processes.set(name, p);
        return p;
      } catch (e) {
        await stopProcess(p).catch(() => undefined);
        const clash = /EADDRINUSE/.test(p.output());
        if (!clash || attempt >= 3)
          throw new Error(`${(e as Error).message}\n--- ${name} output ---\n${p.output().slice(-3000)}`);
      }
    }
  }

  service(name: ServiceName): ServiceProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`${name} is not running`);
    return p;
  }

  /** SIGKILL: no graceful stop, in-flight work is lost as in a crash. */
  async kill(name: ServiceName): Promise<void> {
    const p = this.service(name);
    p.child.kill('SIGKILL');
    await p.exited;
    this.processes.delete(name);
  }

  async stop(name: ServiceName): Promise<void> {
    const p = this.processes.get(name);
    this.processes.delete(name);
    if (p) await stopProcess(p);
  }

  /**
   * Pushes through registry-frontend as a service principal holding Owner on the registry's subscription (created
   * once, as the management API records role assignments), with its Basic credentials.
   */
  async pusher(registryId: string): Promise<RegistryPusher> {
    if (!this.pushAuthorization) {
      const principal = await seedSubscriptionPrincipal(
        { query: (text, params) => this.sql(text, params) },
        registryId,
      );
      this.pushAuthorization = principal.basic;
    }
    return new RegistryPusher(this.service('registry-frontend').url, this.pushAuthorization);
  }

  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    if (!this.sqlClient) {
      this.sqlClient = new Client({ connectionString: this.env['BERTH_DATABASE_URL'] });
      await this.sqlClient.connect();
    }
    return (await this.sqlClient.query(text, params)).rows as T[];
  }

  /** The default registry, once metadata-service has bootstrapped the installation. */
  async defaultRegistryId(): Promise<string> {
    const rows = await pollUntil(
      'the bootstrapped default registry',
      () => this.sql<{ id: string }>(`SELECT id FROM registries WHERE name = 'default'`),
      (r) => r.length === 1,
      { timeoutMs: 60000 },
    );
    return rows[0]?.id ?? '';
  }

  /** Inserts a webhook as the management API does; resolves with its id. */
  async addWebhook(registryId: string, spec: WebhookSpec): Promise<string> {
    const [row] = await this.sql<{ id: string }>(
      `INSERT INTO webhooks (registry_id, name, location, service_uri, custom_headers, status, scope, actions)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) RETURNING id`,
      [
        registryId,
        spec.name,
        spec.location ?? 'eastus',
        spec.serviceUri,
        JSON.stringify(spec.customHeaders ?? {}),
        spec.status ?? 'enabled',
        spec.scope ?? '',
        spec.actions ?? ['push'],
      ],
    );
    return row?.id ?? '';
  }

  deliveries(webhookId: string): Promise<DeliveryRow[]> {
    return this.sql<DeliveryRow>(`SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at, id`, [
      webhookId,
    ]);
  }

  /** Stops every service, closes SQL, drops the database. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.processes.values()].map((p) => stopProcess(p)));
    this.processes.clear();
    await this.sqlClient?.end().catch(() => undefined);
    await this.dropDatabase().catch(() => undefined);
  }

  /** The last log lines of every service, for failure messages. */
  logs(max = 2000): string {
    return [...this.processes.values()].map((p) => `--- ${p.name} ---\n${p.output().slice(-max)}`).join('\n');
  }
}

/** The value of one series on a Prometheus text page, summed over the label sets that match `labels`. */
export function metricValue(text: string, series: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${series}{`) && !line.startsWith(`${series} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
