import type { Notification } from 'pg';
import type { DataSource } from 'typeorm';
import type { EventBusLogger } from '../event-bus.port';
import { describeError, sleep, withTimeout } from '../util/backoff.util';
import { jitteredBackoffMs } from '../consumer/jittered-backoff.util';
import type { RetryBackoff } from '../consumer/jittered-backoff.util';

/** The part of a node-postgres client the listener uses. */
interface ListenClient {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: Notification) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

/** TypeORM's Postgres driver, reduced to the call that checks a connection out of its pool. */
interface PoolDriver {
  obtainMasterConnection(): Promise<[ListenClient, (err?: Error) => void]>;
}

export interface OutboxListenerOptions {
  /** The NOTIFY channel to LISTEN on (a validated SQL identifier). */
  channel: string;
  /** Called for every notification, and once each time the listener (re)connects (events may have been missed). */
  onSignal: () => void;
  /** How often the connection is checked with `SELECT 1` (a silently dropped connection delivers nothing). */
  checkIntervalMs: number;
  /** Waits between reconnection attempts. */
  backoff: RetryBackoff;
  /** Where lost connections are reported. */
  logger?: EventBusLogger;
}

/**
 * Keeps one pooled connection LISTENing on the outbox channel: reconnects with backoff whenever it breaks (Postgres
 * restart, network cut, failed health check), and signals after every (re)connect so that rows committed while it
 * was not listening are picked up at once. The relay also polls, so the listener only ever affects latency.
 */
export class OutboxListener {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private connected = false;

  /** @param dataSource whose pool lends the listening connection (held until `stop()`). */
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: OutboxListenerOptions,
  ) {}

  /** True while LISTEN is in place on a live connection. */
  get listening(): boolean {
    return this.connected;
  }

  /** Starts listening in the background. Idempotent. */
  start(): void {
    this.running ??= this.run();
  }

  /** Stops listening (UNLISTEN, connection back to the pool). Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const failure = await this.session().catch((err: unknown) => toError(err));
      if (this.abort.signal.aborted) return;
      failures = failure ? failures + 1 : 0;
      this.options.logger?.warn(
        { err: failure, channel: this.options.channel, failures },
        `outbox relay: LISTEN connection lost (${describeError(failure)}); polling until it is back`,
      );
      await sleep(jitteredBackoffMs(Math.max(failures, 1), this.options.backoff), this.abort.signal);
    }
  }

  /** One connection's life. Resolves undefined when it ended by stop(), the error when it broke. */
  private async session(): Promise<Error | undefined> {
    const driver = this.dataSource.driver as unknown as PoolDriver;
    const [client, release] = await driver.obtainMasterConnection();
    let lost: (err: Error) => void = () => undefined;
    const broken = new Promise<Error>((resolve) => (lost = resolve));
    const onError = (err: Error): void => lost(err);
    const onEnd = (): void => lost(new Error('connection ended'));
    const onNotification = (message: Notification): void => {
      if (message.channel === this.options.channel) this.options.onSignal();
    };
    // Attached first: an 'error' on a checked-out client without a listener would crash the process.
    client.on('error', onError);
    client.on('end', onEnd);
    client.on('notification', onNotification);
    let failure: Error | undefined;
    try {
      await client.query(`LISTEN ${this.options.channel}`);
      this.connected = true;
      this.options.onSignal();
      failure = await this.watch(client, broken);
      return failure;
    } catch (err) {
      failure = toError(err);
      return failure;
    } finally {
      this.connected = false;
      client.removeListener('notification', onNotification);
      if (failure === undefined) {
        // Clean stop: the connection goes back to the pool, which must not keep delivering notifications.
        await client.query('UNLISTEN *').catch((err: unknown) => (failure = toError(err)));
      }
      client.removeListener('end', onEnd);
      // A broken connection keeps its error listener until the pool has destroyed it (late errors are swallowed).
      if (failure === undefined) client.removeListener('error', onError);
      release(failure);
    }
  }

  /** Waits until stop() (undefined), the connection breaks, or a health check fails (the error). */
  private async watch(client: ListenClient, broken: Promise<Error>): Promise<Error | undefined> {
    const stopped = new Promise<undefined>((resolve) => {
      if (this.abort.signal.aborted) resolve(undefined);
      this.abort.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    for (;;) {
      const tick = sleep(this.options.checkIntervalMs, this.abort.signal).then(() => 'tick' as const);
      const outcome = await Promise.race([stopped, broken, tick]);
      if (outcome !== 'tick') return outcome;
      if (this.abort.signal.aborted) return undefined;
      try {
        await withTimeout(client.query('SELECT 1'), 5_000, () => new Error('LISTEN connection health check timed out'));
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
