import { DATA_SOURCE } from '@berth/db';
import {
  buildWebhookPingEvent,
  createEventEnvelope,
  signWebhookBody,
  webhookSigningKey,
  notifyOutbox,
  OutboxRelayModule,
  RegistryTopics,
  writeOutboxEvent,
  type EventEnvelope,
} from '@berth/events';
import { serviceRoot, startService, type RunningService } from '@berth/platform';
import { migratedDatabase, pollUntil, seedRegistries, stackEnv } from '@berth/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { WEBHOOK_DISPATCHER_NEEDS, WebhookDispatcherModule } from './webhook-dispatcher.module';
import {
  WebhookDispatcherService,
  type DeliveryResponseLog,
  type EventRequestMessage,
} from './webhook-dispatcher.service';

jest.setTimeout(120_000);

const MASTER_KEY = randomBytes(32).toString('hex');

interface Received {
  path: string;
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface DeliveryRow {
  webhook_id: string;
  event_id: string;
  status: string;
  attempts: number;
  error: string | null;
  request: EventRequestMessage;
  response: DeliveryResponseLog | null;
}

describe('webhook-dispatcher (Postgres + Kafka, in process)', () => {
  let svc: RunningService;
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  let receiver: http.Server;
  let base: string;
  let registryId: string;
  const received: Received[] = [];
  const flakyPlan = [500, 500, 200];
  const webhooks: Record<string, string> = {};

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({ path, at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = path === '/flaky' ? (flakyPlan.shift() ?? 200) : 200;
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'thanks' : 'try later');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'webhooks');
    svc = await startService(
      {
        name: 'webhook-dispatcher',
        mode: 'distributed',
        rootModule: (config, logger) =>
          serviceRoot(config, logger, {
            needs: WEBHOOK_DISPATCHER_NEEDS,
            modules: [
              WebhookDispatcherModule.forRoot({
                backoff: { initialMs: 400, maxMs: 5_000 },
                pollIntervalMs: 50,
              }),
              // The relay (metadata-service runs it in production) moves the outbox to Kafka.
              OutboxRelayModule.forRootAsync({ useFactory: () => ({ pollIntervalMs: 200 }) }),
            ],
          }),
      },
      {
        ...env,
        BERTH_DATABASE_URL: db.url,
        BERTH_PORT: '0',
        BERTH_HOST: '127.0.0.1',
        BERTH_LOG_LEVEL: 'error',
        BERTH_REGIONS: 'eastus,westeurope',
        BERTH_WEBHOOK_ALLOWED_PRIVATE: '127.0.0.1/32',
        BERTH_MASTER_KEY: MASTER_KEY,
      },
    );
    ds = svc.app.get<DataSource>(DATA_SOURCE);
    registryId = (await seedRegistries(ds, ['hooks'])).registryIds['hooks'] ?? '';
    const add = async (
      name: string,
      uri: string,
      opts: {
        scope?: string;
        actions?: string[];
        headers?: Record<string, string>;
        location?: string;
        status?: string;
      } = {},
    ) => {
      const [row] = (await ds.query(
        `INSERT INTO webhooks (registry_id, name, location, service_uri, custom_headers, status, scope, actions)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) RETURNING id`,
        [
          registryId,
          name,
          opts.location ?? 'eastus',
          uri,
          JSON.stringify(opts.headers ?? {}),
          opts.status ?? 'enabled',
          opts.scope ?? '',
          opts.actions ?? ['push'],
        ],
      )) as Array<{ id: string }>;
      webhooks[name] = row?.id ?? '';
    };
    await add('hookscoped', `${base}/scoped`, {
      scope: 'hello:*',
      headers: { Authorization: 'Basic c2VjcmV0', 'X-Team': 'blue' },
    });
    await add('hookall', `${base}/all`);
    await add('hookother', `${base}/other`, { scope: 'other:*' });
    await add('hookdelete', `${base}/delete`, { actions: ['delete'] });
    await add('hookregion', `${base}/region`, { location: 'westeurope' });
    await add('hookoff', `${base}/off`, { status: 'disabled' });
    await add('hookflaky', `${base}/flaky`, { scope: 'hello:v1' });
    await add('hookmeta', 'http://169.254.169.254/latest/meta-data/');
    await add('hookpriv', 'http://10.0.0.1/hook');
    await add('hookchart', `${base}/chart`, { actions: ['chart_push', 'chart_delete'], scope: 'charts/*:*' });
  });

  afterAll(async () => {
    await svc?.stop();
    await db?.drop();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  const deliveries = (eventId: string) =>
    ds.query(
      `SELECT webhook_id, event_id, status, attempts, error, request, response FROM webhook_deliveries WHERE event_id = $1`,
      [eventId],
    ) as Promise<DeliveryRow[]>;

  it('delivers a push once per matching webhook, signed, retried with growing delays, SSRF targets refused', async () => {
    const eventId = randomUUID();
    const data = {
      id: eventId,
      timestamp: new Date().toISOString(),
      action: 'push',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 524,
        digest: `sha256:${'a'.repeat(64)}`,
        length: 524,
        repository: 'hello',
        tag: 'v1',
      },
      request: { id: randomUUID(), host: 'hooks.berth.localhost', method: 'PUT', useragent: 'docker/27' },
    };
    const envelope: EventEnvelope<typeof data> = createEventEnvelope({
      id: eventId,
      type: 'ImagePushed',
      version: 1,
      registryId,
      data,
    });
    await ds.transaction(async (em) => {
      await writeOutboxEvent(em, { topic: RegistryTopics.Events, envelope });
      await notifyOutbox(em);
    });

    const rows = await pollUntil(
      'every delivery to settle',
      () => deliveries(eventId),
      (r) => r.length === 5 && r.every((d) => d.status !== 'pending'),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const byHook = (name: string) => rows.find((r) => r.webhook_id === webhooks[name]);

    // Exactly the matching webhooks got a row.
    expect(rows.map((r) => r.webhook_id).sort()).toEqual(
      ['hookscoped', 'hookall', 'hookflaky', 'hookmeta', 'hookpriv'].map((n) => webhooks[n]).sort(),
    );
    for (const path of ['/other', '/delete', '/region', '/off', '/chart'])
      expect(received.filter((r) => r.path === path)).toEqual([]);

    // ACR's payload, custom headers, signature; one request each.
    const scoped = received.filter((r) => r.path === '/scoped');
    expect(scoped).toHaveLength(1);
    const [req] = scoped as [Received];
    expect(JSON.parse(req.body)).toEqual(data);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['authorization']).toBe('Basic c2VjcmV0');
    expect(req.headers['x-team']).toBe('blue');
    expect(req.headers['x-berth-signature']).toBe(
      signWebhookBody(webhookSigningKey(Buffer.from(MASTER_KEY, 'hex'), webhooks['hookscoped'] ?? '') ?? '', req.body),
    );
    expect(received.filter((r) => r.path === '/all')).toHaveLength(1);
    const scopedRow = byHook('hookscoped');
    expect(scopedRow).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
    expect(scopedRow?.request).toMatchObject({
      content: data,
      method: 'POST',
      requestUri: `${base}/scoped`,
      headers: { 'Content-Type': 'application/json', Authorization: '******', 'X-Team': '******' },
    });
    expect(scopedRow?.response?.eventResponseMessage).toMatchObject({
      statusCode: '200',
      content: 'thanks',
      reasonPhrase: 'OK',
    });

    // 500, 500, then 200: three requests, growing waits, every attempt in the row.
    const flaky = received.filter((r) => r.path === '/flaky');
    expect(flaky).toHaveLength(3);
    const [a, b, c] = flaky.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(190); // first wait: 400 ms with equal jitter → [200, 400]
    expect(c - b).toBeGreaterThanOrEqual(390); // second wait: [400, 800]
    for (const r of flaky) expect(JSON.parse(r.body)).toEqual(data);
    const flakyRow = byHook('hookflaky');
    expect(flakyRow).toMatchObject({ status: 'succeeded', attempts: 3, error: null });
    expect(flakyRow?.response?.attempts.map((x) => x.statusCode)).toEqual([500, 500, 200]);
    expect(flakyRow?.response?.attempts.map((x) => x.attempt)).toEqual([1, 2, 3]);

    // SSRF: refused before connecting, failed at once, no response.
    for (const name of ['hookmeta', 'hookpriv']) {
      const row = byHook(name);
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      expect(row?.error).toMatch(/SSRF protection/);
      expect(row?.response?.eventResponseMessage).toBeUndefined();
      expect(row?.response?.attempts[0]?.durationMs).toBe(0);
    }
    expect(byHook('hookmeta')?.error).toMatch(/169\.254\.169\.254.*link-local/);
    expect(byHook('hookpriv')?.error).toMatch(/10\.0\.0\.1.*private/);

    // A redelivered event adds no delivery and sends nothing more.
    const before = received.length;
    await svc.app.get(WebhookDispatcherService).onEvent(envelope);
    expect(await deliveries(eventId)).toHaveLength(5);
    expect(received.length).toBe(before);
  });

  it('delivers delete events only to webhooks subscribed to delete, (a tagless event, empty scope)', async () => {
    const eventId = randomUUID();
    const data = {
      id: eventId,
      timestamp: new Date().toISOString(),
      action: 'delete',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'b'.repeat(64)}`,
        repository: 'hello',
      },
      request: { id: randomUUID(), host: 'hooks.berth.localhost', method: 'DELETE', useragent: 'curl' },
    };
    await ds.transaction(async (em) => {
      await writeOutboxEvent(em, {
        topic: RegistryTopics.Events,
        envelope: createEventEnvelope({ id: eventId, type: 'ImageDeleted', version: 1, registryId, data }),
      });
      await notifyOutbox(em);
    });
    const rows = await pollUntil(
      'the delete delivery',
      () => deliveries(eventId),
      (r) => r.length === 1 && r[0]?.status === 'succeeded',
      {
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    expect(rows[0]?.webhook_id).toBe(webhooks['hookdelete']);
    const got = received.filter((r) => r.path === '/delete');
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]?.body ?? '{}')).toEqual(data);
  });

  it('delivers chart_push and chart_delete only to webhooks subscribed to them', async () => {
    const ids: string[] = [];
    for (const action of ['chart_push', 'chart_delete'] as const) {
      const eventId = randomUUID();
      ids.push(eventId);
      const data = {
        id: eventId,
        timestamp: new Date().toISOString(),
        action,
        target: {
          mediaType: 'application/vnd.acr.helm.chart',
          size: 100,
          digest: `sha256:${'c'.repeat(64)}`,
          repository: 'charts/wordpress',
          tag: '5.4.0',
          name: 'wordpress',
          version: '5.4.0',
        },
        request: { id: randomUUID(), host: 'hooks.berth.localhost', method: 'PUT', useragent: 'helm' },
      };
      await ds.transaction(async (em) => {
        await writeOutboxEvent(em, {
          topic: RegistryTopics.Events,
          envelope: createEventEnvelope({ id: eventId, type: 'ChartPushed', version: 1, registryId, data }),
        });
        await notifyOutbox(em);
      });
    }
    for (const id of ids) {
      const rows = await pollUntil(
        'the chart delivery',
        () => deliveries(id),
        (r) => r.length === 1 && r[0]?.status === 'succeeded',
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(rows[0]?.webhook_id).toBe(webhooks['hookchart']);
    }
    const got = received.filter((r) => r.path === '/chart').map((r) => JSON.parse(r.body) as { action: string });
    expect(got.map((g) => g.action)).toEqual(['chart_push', 'chart_delete']);
  });

  it('pings exactly the webhook named, once, whatever its actions, scope or status, and logs it', async () => {
    for (const name of ['hookoff', 'hookother']) {
      const before = received.length;
      const ping = buildWebhookPingEvent({ registryId, webhookId: webhooks[name] ?? '' });
      await ds.transaction(async (em) => {
        await writeOutboxEvent(em, { topic: RegistryTopics.Events, envelope: ping });
        await notifyOutbox(em);
      });
      const rows = await pollUntil(
        'the ping delivery',
        () => deliveries(ping.id),
        (r) => r.length === 1 && r[0]?.status !== 'pending',
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(rows[0]).toMatchObject({ webhook_id: webhooks[name], status: 'succeeded', attempts: 1 });
      expect(rows[0]?.request.content).toEqual({ id: ping.id, timestamp: ping.occurredAt, action: 'ping' });
      const got = received.slice(before);
      expect(got).toHaveLength(1);
      expect(got[0]?.path).toBe(name === 'hookoff' ? '/off' : '/other');
      expect(JSON.parse(got[0]?.body ?? '{}')).toEqual({ id: ping.id, timestamp: ping.occurredAt, action: 'ping' });
    }
  });

  it('ignores a ping naming a webhook of another registry', async () => {
    const ping = buildWebhookPingEvent({ registryId: randomUUID(), webhookId: webhooks['hookall'] ?? '' });
    const before = received.length;
    await svc.app.get(WebhookDispatcherService).onEvent(ping);
    expect(await deliveries(ping.id)).toHaveLength(0);
    expect(received.length).toBe(before);
  });
});
