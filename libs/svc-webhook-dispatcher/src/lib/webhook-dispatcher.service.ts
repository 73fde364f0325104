import {
  Inject,
  Injectable,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import {
  consume,
  ensureEventTopics,
  EVENT_BUS,
  jitteredBackoffMs,
  PoisonEventError,
  RegistryTopics,
  type EventBus,
  type EventEnvelope,
  type IdempotentConsumer,
  type RetryBackoff,
  WEBHOOK_PING_EVENT_TYPE,
  webhookPingPayload,
  webhookSigningKey,
  type WebhookPingData,
} from '@berth/events';
import { loadMasterKey } from '@berth/identity';
import { BERTH_CONFIG, ROOT_LOGGER } from '@berth/platform';
import { postToVettedTarget, SsrfGuard, SsrfRefusedError, type SendResult } from '@berth/ssrf';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { webhookMatches } from './webhook-matcher';
import { berthMetrics, type WebhookAction, type WebhookOutcome } from '@berth/telemetry';
import { deliveryHeaders } from './webhook-sender';

/** Tuning of the dispatcher; every field has a default. */
export interface WebhookDispatcherOptions {
  /** Delivery attempts before a delivery is marked failed. Default 8. */
  maxAttempts: number;
  /** Waits between attempts: exponential with equal jitter. Default 1 s doubling up to 5 min. */
  backoff: RetryBackoff;
  /** How often the retry loop looks for due deliveries. Default 1 s. */
  pollIntervalMs: number;
  /** Deliveries claimed per round. Default 20. */
  batchSize: number;
  /**
   * How long a claimed delivery is reserved; a process dying mid-attempt leaves it to others after this. Default
   * 30 s: three attempt timeouts, so a live attempt always ends (and records itself) first.
   */
  leaseMs: number;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs: number;
}

export const WEBHOOK_DISPATCHER_OPTIONS = Symbol('WEBHOOK_DISPATCHER_OPTIONS');

export const WEBHOOK_DISPATCHER_DEFAULTS: WebhookDispatcherOptions = {
  maxAttempts: 8,
  backoff: { initialMs: 1_000, maxMs: 5 * 60_000 },
  pollIntervalMs: 1_000,
  batchSize: 20,
  leaseMs: 30_000,
  timeoutMs: 10_000,
};

/** The consumer group of the dispatcher (its processed-event records). */
export const WEBHOOK_DISPATCHER_GROUP = 'webhook-dispatcher';

/** ACR's `EventRequestMessage`, as kept in `webhook_deliveries.request`. */
export interface EventRequestMessage {
  content: unknown;
  headers: Record<string, string>;
  method: 'POST';
  requestUri: string;
  version: '1.1';
}

/** ACR's `EventResponseMessage`. */
export interface EventResponseMessage {
  content: string;
  headers: Record<string, string>;
  reasonPhrase: string;
  statusCode: string;
  version: string;
}

/** One attempt in `webhook_deliveries.response.attempts`. */
export interface DeliveryAttemptLog {
  attempt: number;
  startedAt: string;
  durationMs: number;
  requestHeaders: Record<string, string>;
  statusCode?: number;
  response?: EventResponseMessage;
  error?: string;
}

/** `webhook_deliveries.response`: the last response (listEvents' eventResponseMessage) and every attempt. */
export interface DeliveryResponseLog {
  eventResponseMessage?: EventResponseMessage;
  attempts: DeliveryAttemptLog[];
}

interface RegistryEventPayload {
  id: string;
  action: string;
  target: { repository: string; tag?: string };
}

/** What the dispatcher consumes: registry events, and pings (envelope type `ping`) aimed at one webhook. */
type DispatcherEventData = RegistryEventPayload | WebhookPingData;

interface WebhookRow {
  id: string;
  location: string;
  service_uri: string;
  custom_headers: Record<string, string>;
  status: string;
  scope: string;
  actions: string[];
}

interface ClaimedDelivery {
  id: string;
  action: string;
  webhook_id: string;
  event_id: string;
  attempts: number;
  request: EventRequestMessage;
  response: DeliveryResponseLog | null;
  service_uri: string;
  custom_headers: Record<string, string>;
  webhook_status: string;
}

const MASK = '******';

/** The request as logged: custom header values masked (ACR treats customHeaders as secret), no URL credentials. */
export function maskedHeaders(
  headers: Record<string, string>,
  customHeaders: Readonly<Record<string, string>>,
): Record<string, string> {
  const secret = new Set(Object.keys(customHeaders).map((n) => n.toLowerCase()));
  secret.delete('content-type');
  return Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, secret.has(n.toLowerCase()) ? MASK : v]));
}

function loggableUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.username || url.password) {
      url.username = MASK;
      url.password = '';
    }
    return url.toString();
  } catch {
    return uri;
  }
}

const WEBHOOK_ACTIONS: ReadonlySet<string> = new Set<WebhookAction>([
  'push',
  'delete',
  'quarantine',
  'chart_push',
  'chart_delete',
  'ping',
]);

/** The metric outcome of one attempt. */
function attemptOutcome(ok: boolean, blocked: boolean, giveUp: boolean, result: SendResult): WebhookOutcome {
  if (ok) return 'success';
  if (blocked) return 'blocked';
  if (giveUp) return 'gave_up';
  if (result.statusCode !== undefined) return 'http_error';
  return /timed out/.test(result.error ?? '') ? 'timeout' : 'network_error';
}

function isPing(data: DispatcherEventData): data is WebhookPingData {
  return typeof (data as Partial<WebhookPingData>).webhookId === 'string';
}

function parseDispatcherEvent(data: unknown): DispatcherEventData {
  const ping = data as Partial<WebhookPingData> | null;
  if (typeof ping === 'object' && ping !== null && typeof ping.webhookId === 'string') {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ping.webhookId)) {
      throw new PoisonEventError('a ping event whose webhookId is not a UUID');
    }
    return { webhookId: ping.webhookId };
  }
  const d = data as Partial<RegistryEventPayload> | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.id !== 'string' ||
    typeof d.action !== 'string' ||
    typeof d.target !== 'object' ||
    d.target === null ||
    typeof d.target.repository !== 'string'
  ) {
    throw new PoisonEventError('not a registry event payload (id, action, target.repository)');
  }
  return d as RegistryEventPayload;
}

/**
 * Turns registry events into webhook deliveries: the consumer records one `webhook_deliveries` row per matching
 * webhook (unique per webhook and event, so a redelivered event adds nothing) and makes the first attempt; a retry
 * loop claims due rows (`FOR UPDATE SKIP LOCKED`, then a lease) and retries with jittered exponential backoff.
 * State lives in the rows, so a restart resumes retries, and several replicas share the work.
 */
@Injectable()
export class WebhookDispatcherService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly options: WebhookDispatcherOptions;
  private readonly guard: SsrfGuard;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private consumer?: IdempotentConsumer<DispatcherEventData>;
  /** Signing keys derive from it (BERTH_MASTER_KEY; the embedded default's generated key). Set at bootstrap. */
  private masterKey: Buffer | undefined;
  private loop?: Promise<void>;
  private wake?: () => void;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    @Optional() @Inject(WEBHOOK_DISPATCHER_OPTIONS) options?: Partial<WebhookDispatcherOptions>,
  ) {
    this.options = { ...WEBHOOK_DISPATCHER_DEFAULTS, ...options };
    this.guard = new SsrfGuard(config.webhookAllowedPrivate);
    this.log = logger.child({ component: 'webhook-dispatcher' });
  }

  private signingKey(webhookId: string): string | undefined {
    return webhookSigningKey(this.masterKey, webhookId);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.masterKey = await loadMasterKey(this.config);
    await ensureEventTopics(this.bus);
    this.consumer = await consume<DispatcherEventData>(this.bus, {
      topics: RegistryTopics.Events,
      groupId: WEBHOOK_DISPATCHER_GROUP,
      dataSource: this.dataSource,
      mode: 'after-success',
      deadLetterTopic: RegistryTopics.DeadLetter,
      parseData: parseDispatcherEvent,
      handler: (event) => this.onEvent(event),
      logger: {
        error: (f, m) => this.log.error(f, m),
        warn: (f, m) => this.log.warn(f, m),
        info: (f, m) => this.log.info(f, m),
        debug: (f, m) => this.log.debug(f, m),
      },
    });
    this.loop = this.retryLoop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.consumer?.stop();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Records a delivery per matching webhook (a ping: for its one webhook), then attempts the new ones. */
  async onEvent(event: EventEnvelope<DispatcherEventData>): Promise<void> {
    const data = event.data;
    if (event.type === WEBHOOK_PING_EVENT_TYPE || isPing(data)) {
      if (!isPing(data)) throw new PoisonEventError('a ping event without webhookId');
      await this.onPing(event, data);
      return;
    }
    const [registry] = (await this.dataSource.query(`SELECT location FROM registries WHERE id = $1`, [
      event.registryId,
    ])) as Array<{ location: string }>;
    if (!registry) return;
    const webhooks = (await this.dataSource.query(
      `SELECT id, location, service_uri, custom_headers, status, scope, actions FROM webhooks WHERE registry_id = $1`,
      [event.registryId],
    )) as WebhookRow[];
    const matching = webhooks.filter((w) =>
      webhookMatches(
        w,
        { action: data.action, repository: data.target.repository, tag: data.target.tag },
        registry.location,
      ),
    );
    const created: string[] = [];
    for (const webhook of matching) {
      const id = await this.record(webhook, event, data.action, data);
      if (id) created.push(id);
    }
    // First attempts right away (the retry loop would also find them, the lease keeps it to one attempt at a time).
    await Promise.all(created.map((id) => this.track(this.claimAndAttempt(id))));
  }

  /** A ping: ACR's ping payload to the one webhook named, if it belongs to the event's registry. */
  private async onPing(event: EventEnvelope<DispatcherEventData>, data: WebhookPingData): Promise<void> {
    const [webhook] = (await this.dataSource.query(
      `SELECT id, location, service_uri, custom_headers, status, scope, actions FROM webhooks
        WHERE id = $1 AND registry_id = $2`,
      [data.webhookId, event.registryId],
    )) as WebhookRow[];
    if (!webhook) {
      this.log.info(
        { eventId: event.id, webhookId: data.webhookId },
        'ping for a webhook that no longer exists; skipped',
      );
      return;
    }
    const id = await this.record(webhook, event, 'ping', webhookPingPayload(event));
    if (id) await this.track(this.claimAndAttempt(id));
  }

  /** Inserts the delivery row (once per webhook and event); resolves with its id, or undefined when it existed. */
  private async record(
    webhook: WebhookRow,
    event: EventEnvelope<unknown>,
    action: string,
    content: unknown,
  ): Promise<string | undefined> {
    const body = JSON.stringify(content);
    const headers = deliveryHeaders(webhook.custom_headers, body, this.signingKey(webhook.id));
    const request: EventRequestMessage = {
      content,
      headers: maskedHeaders(headers, webhook.custom_headers),
      method: 'POST',
      requestUri: loggableUri(webhook.service_uri),
      version: '1.1',
    };
    const rows = (await this.dataSource.query(
      `INSERT INTO webhook_deliveries (webhook_id, registry_id, event_id, action, status, attempts, next_attempt_at, request)
       VALUES ($1, $2, $3, $4, 'pending', 0, now(), $5::jsonb)
       ON CONFLICT (webhook_id, event_id) DO NOTHING
       RETURNING id`,
      [webhook.id, event.registryId, event.id, action, JSON.stringify(request)],
    )) as Array<{ id: string }>;
    return rows[0]?.id;
  }

  /** One round of the retry loop: claims due deliveries and attempts them. Resolves with the number claimed. */
  async retryRound(): Promise<number> {
    const claimed = await this.claim(`status = 'pending' AND next_attempt_at <= now()`, [], this.options.batchSize);
    await Promise.all(claimed.map((d) => this.track(this.attempt(d))));
    return claimed.length;
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.catch((err: unknown) =>
      this.log.warn({ err }, 'webhook delivery attempt could not be recorded; it is retried when its lease ends'),
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  private async retryLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let claimed = 0;
      try {
        claimed = await this.retryRound();
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.log.warn({ err }, 'webhook retry round failed; trying again');
      }
      if (claimed >= this.options.batchSize) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async claimAndAttempt(id: string): Promise<void> {
    const [delivery] = await this.claim(`id = $2 AND status = 'pending' AND next_attempt_at <= now()`, [id], 1);
    if (delivery) await this.attempt(delivery);
  }

  /** Reserves due deliveries for one attempt: row locks skip rows another replica is claiming, the lease does the rest. */
  private async claim(where: string, params: unknown[], limit: number): Promise<ClaimedDelivery[]> {
    const rows = (await this.dataSource.query(
      `UPDATE webhook_deliveries d
          SET next_attempt_at = now() + make_interval(secs => $1::double precision / 1000), updated_at = now()
         FROM webhooks w
        WHERE w.id = d.webhook_id
          AND d.id IN (SELECT id FROM webhook_deliveries WHERE ${where}
                        ORDER BY next_attempt_at LIMIT ${Number(limit)} FOR UPDATE SKIP LOCKED)
        RETURNING d.id, d.action, d.webhook_id, d.event_id, d.attempts, d.request, d.response,
                  w.service_uri, w.custom_headers, w.status AS webhook_status`,
      [this.options.leaseMs, ...params],
    )) as unknown;
    // TypeORM's postgres driver returns [rows, count] for UPDATE ... RETURNING.
    const list =
      Array.isArray(rows) && Array.isArray(rows[0]) ? (rows[0] as ClaimedDelivery[]) : (rows as ClaimedDelivery[]);
    return list;
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const attempt = d.attempts + 1;
    const startedAt = new Date().toISOString();
    const body = JSON.stringify(d.request.content);
    const headers = deliveryHeaders(d.custom_headers, body, this.signingKey(d.webhook_id));
    // A ping is the operator's test of the endpoint: one attempt, whatever the webhook's status.
    const ping = d.action === 'ping';
    const logged = maskedHeaders(headers, d.custom_headers);
    let result: SendResult;
    let permanent = false;
    let blocked = false;
    if (d.webhook_status !== 'enabled' && !ping) {
      result = { headers: {}, body: '', truncated: false, durationMs: 0, error: 'the webhook is disabled' };
      permanent = true;
    } else {
      try {
        const target = await this.guard.vet(d.service_uri);
        result = await postToVettedTarget(target, body, headers, {
          timeoutMs: this.options.timeoutMs,
          signal: this.abort.signal,
        });
      } catch (err) {
        if (!(err instanceof SsrfRefusedError)) throw err;
        result = { headers: {}, body: '', truncated: false, durationMs: 0, error: err.message };
        permanent = !err.retryable;
        blocked = permanent;
      }
    }
    if (this.abort.signal.aborted && result.statusCode === undefined) {
      // Interrupted by shutdown: not an attempt; hand it back at once.
      await this.dataSource.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1`, [d.id]);
      return;
    }
    const response: EventResponseMessage | undefined =
      result.statusCode === undefined
        ? undefined
        : {
            content: result.body,
            headers: result.headers,
            reasonPhrase: result.reasonPhrase ?? '',
            statusCode: String(result.statusCode),
            version: result.httpVersion ?? '1.1',
          };
    const log: DeliveryResponseLog = {
      eventResponseMessage: response ?? d.response?.eventResponseMessage,
      attempts: [
        ...(d.response?.attempts ?? []),
        {
          attempt,
          startedAt,
          durationMs: result.durationMs,
          requestHeaders: logged,
          ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
          ...(response ? { response } : {}),
          ...(result.error === undefined ? {} : { error: result.error }),
        },
      ],
    };
    const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;
    const error = ok
      ? null
      : (result.error ?? `the receiver answered ${result.statusCode ?? '?'} ${result.reasonPhrase ?? ''}`.trim());
    const giveUp = !ok && (permanent || ping || attempt >= this.options.maxAttempts);
    const status = ok ? 'succeeded' : giveUp ? 'failed' : 'pending';
    const delayMs = ok || giveUp ? null : jitteredBackoffMs(attempt, this.options.backoff);
    await this.dataSource.query(
      `UPDATE webhook_deliveries
          SET status = $2, attempts = $3, response = $4::jsonb, error = $5, updated_at = now(),
              next_attempt_at = CASE WHEN $6::double precision IS NULL THEN NULL
                                     ELSE now() + make_interval(secs => $6::double precision / 1000) END
        WHERE id = $1`,
      [d.id, status, attempt, JSON.stringify(log), error, delayMs],
    );
    if (WEBHOOK_ACTIONS.has(d.action)) {
      berthMetrics().webhookDelivery(result.durationMs / 1000, {
        outcome: attemptOutcome(ok, blocked, giveUp, result),
        action: d.action as WebhookAction,
      });
    }
    this.log.info(
      {
        deliveryId: d.id,
        webhookId: d.webhook_id,
        eventId: d.event_id,
        attempt,
        status,
        statusCode: result.statusCode,
        delayMs,
      },
      `webhook delivery attempt ${status === 'pending' ? 'failed; retrying later' : status}`,
    );
  }
}
