import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DATA_SOURCE, REPOSITORY_CHANGES_CHANNEL } from '@berth/db';
import { ROOT_LOGGER } from '@berth/platform';
import { Client, type ClientConfig, type Notification } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/** Told about committed repository changes, and whenever notifications may have been missed. */
export interface RepositoryChangeSubscriber {
  /** A committed change to a repository's row, tags or manifest links (the repository id of that registry). */
  repositoryChanged(registryId: string, repositoryId: string): void;
  /**
   * The listening connection came up (`listening` true: notifications flow from now on) or went down (false:
   * anything may change unannounced until it is back). Either way, whatever was derived before must be dropped.
   */
  listeningChanged(listening: boolean): void;
}

/** Reconnect quickly after a PostgreSQL restart, without hammering: 100 ms doubling to 5 s. */
const reconnectDelayMs = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000);
/** A connection that died without the socket noticing (host gone, no RST) is found by a bounded round trip this often. */
const HEARTBEAT_INTERVAL_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 3_000;
/** Payload of the triggers of migration RepositoryChangeNotify: `<registry id>:<repository id>`. */
const PAYLOAD = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/i;

interface PgPoolLike {
  options?: ClientConfig & { application_name?: string };
}

/**
 * The frontend's one dedicated PostgreSQL connection that LISTENs on the repository-change channel (migration
 * RepositoryChangeNotify: triggers on `repositories`, `tags` and `repository_manifests` notify it on commit, whoever
 * writes) and tells subscribers (the manifest cache). The connection is opened after start-up and re-opened with
 * back-off whenever it fails or a heartbeat goes unanswered; subscribers hear when it goes down and when it is back,
 * so that nothing is served from memory while changes could go unannounced.
 */
@Injectable()
export class RepositoryChanges implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly subscribers = new Set<RepositoryChangeSubscriber>();
  private client: Client | undefined;
  private listening = false;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private warnedDown = false;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'repository-changes' });
  }

  /** Whether notifications are being received now. */
  get isListening(): boolean {
    return this.listening;
  }

  subscribe(subscriber: RepositoryChangeSubscriber): void {
    this.subscribers.add(subscriber);
  }

  onApplicationBootstrap(): void {
    // Not awaited: start-up does not wait for the listener (until it is up, nothing is served from memory).
    void this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (client) await this.drop(client);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const config = this.clientConfig();
    if (!config) {
      this.logger.warn('no PostgreSQL pool to copy settings from: repository changes are not listened to (nothing is cached)');
      return;
    }
    const client = new Client(config);
    this.client = client;
    client.on('error', (err: Error) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (n: Notification) => this.notified(n));
    try {
      await client.connect();
      await client.query(`LISTEN ${REPOSITORY_CHANGES_CHANNEL}`);
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.client !== client) return;
    this.attempt = 0;
    this.listening = true;
    if (this.warnedDown) this.logger.info('listening to repository changes again');
    this.warnedDown = false;
    for (const s of this.subscribers) s.listeningChanged(true);
    this.heartbeat = setInterval(() => this.ping(client), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  private notified(n: Notification): void {
    if (n.channel !== REPOSITORY_CHANGES_CHANNEL) return;
    const m = PAYLOAD.exec(n.payload ?? '');
    if (!m?.[1] || !m[2]) return;
    for (const s of this.subscribers) s.repositoryChanged(m[1].toLowerCase(), m[2].toLowerCase());
  }

  private ping(client: Client): void {
    const timer = setTimeout(() => this.lost(client, new Error(`heartbeat unanswered within ${HEARTBEAT_TIMEOUT_MS} ms`)), HEARTBEAT_TIMEOUT_MS);
    client.query('SELECT 1').then(
      () => clearTimeout(timer),
      (err: unknown) => {
        clearTimeout(timer);
        this.lost(client, err);
      },
    );
  }

  /** The connection failed (or never came up): subscribers stop trusting memory, and a new one is tried later. */
  private lost(client: Client, err: unknown): void {
    if (this.client !== client) return;
    void this.drop(client);
    if (this.stopped) return;
    if (!this.warnedDown) {
      this.warnedDown = true;
      this.logger.warn({ err }, 'not listening to repository changes: manifests are read from the database until it is back');
    }
    this.reconnectTimer = setTimeout(() => void this.connect(), reconnectDelayMs(this.attempt++));
    this.reconnectTimer.unref();
  }

  /** Resolves when the connection is closed. */
  private drop(client: Client): Promise<void> {
    this.client = undefined;
    clearInterval(this.heartbeat);
    const was = this.listening;
    this.listening = false;
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    if (was) for (const s of this.subscribers) s.listeningChanged(false);
    return client.end().catch(() => undefined);
  }

  /** The pool's own connection settings (TypeORM's PostgresDriver keeps node-postgres' Pool as `master`). */
  private clientConfig(): ClientConfig | undefined {
    const pool = (this.ds.driver as unknown as { master?: PgPoolLike }).master;
    if (!pool?.options) return undefined;
    const base = pool.options.application_name ?? 'berth';
    return { ...pool.options, application_name: `${base}:listen`.slice(0, 63) };
  }
}
