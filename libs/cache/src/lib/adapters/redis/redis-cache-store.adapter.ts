import { Redis } from 'ioredis';
import { CacheClosedError } from '../../errors/cache-closed.error';
import { CacheUnavailableError } from '../../errors/cache-unavailable.error';
import { InvalidCacheArgumentError } from '../../errors/invalid-cache-argument.error';
import type { CacheLogger, CacheStore, WindowCount } from '../../cache-store.port';
import {
  msToResetSeconds,
  secondsToMs,
  validateIncrement,
  validateKey,
  validateKeys,
  validateValue,
} from '../../util/validate-cache-arguments.util';

/** See `RedisCacheStoreOptions.commandTimeoutMs`. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export interface RedisCacheStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Namespace prepended to every key, so several installations or tests can share one Redis. Default `berth:`. */
  keyPrefix?: string;
  /** TCP connect (and handshake) timeout. Default 2000 ms. */
  connectTimeoutMs?: number;
  /**
   * A command without a reply after this rejects with CacheUnavailableError. Default 5000 ms: ioredis' timer runs
   * before the event loop reads the socket, so a process whose loop lags (200 concurrent layer pushes on two busy
   * cores lagged past 1 s) would otherwise fail commands whose replies are already there. A Redis that is down
   * still fails at once (no offline queue); only a stalled one takes this long to notice.
   */
  commandTimeoutMs?: number;
  /** Upper bound of `ping()`. Default 2000 ms. */
  pingTimeoutMs?: number;
  /** Told when the connection is lost and when it is back (once each, not per retry). Default: nothing. */
  logger?: CacheLogger;
}

/*
 * Fixed window, atomically: INCRBY creates the counter at `by` in a new window; the expiry is set only when
 * the key has none (PTTL < 0), i.e. exactly once per window, so increments never extend it.
 */
const INCREMENT_WINDOW = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
`;

/*
 * The same for every key of KEYS, in one script (one round trip, and no other command runs in between): returns
 * count1, ttl1, count2, ttl2, ... (Keys of one call must live on one node: Berth uses a single Redis, not a cluster.)
 */
const INCREMENT_WINDOWS = `
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, ARGV[1])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  out[2 * i - 1] = count
  out[2 * i] = ttl
end
return out
`;

const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** The client with the scripts registered by `defineCommand` (EVALSHA, falling back to EVAL after a restart). */
type ScriptedRedis = Redis & {
  berthIncrementWindow(key: string, by: number, windowMs: number): Promise<[number, number]>;
  /** `numberOfKeys`, the keys, then `by` and `windowMs`. */
  berthIncrementWindows(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
  berthDeleteIfEquals(key: string, expected: string): Promise<number>;
};

/** Reconnect quickly (Redis restarts in well under a second) but without hammering: 100 ms doubling to 1 s. */
const reconnectDelay = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt - 1, 4), 1_000);

/**
 * CacheStore on Redis through ioredis.
 *
 * Fail fast, never hang: no offline queue (a command while disconnected is refused, not parked until Redis
 * returns, which could apply it long after its caller gave up), no automatic resend of commands cut off by a
 * disconnect (INCRBY or SET NX applied twice would be wrong), a timeout on every command. The client itself
 * reconnects forever in the background, so the same store works again once Redis is back.
 */
export class RedisCacheStore implements CacheStore {
  private readonly client: ScriptedRedis;
  private readonly prefix: string;
  private readonly label: string;
  private readonly connectTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private lastError: Error | undefined;
  private connectionLost = false;
  /** Settles when the connection attempt in progress succeeds or fails. */
  private attempt: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisCacheStoreOptions) {
    this.label = `redis ${describeEndpoint(options.url)}`;
    this.prefix = options.keyPrefix ?? 'berth:';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    const client = new Redis(options.url, {
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: reconnectDelay,
      // How long close() lets a socket end gracefully. ioredis also waits this long on a socket that is
      // already closed (a Redis that was down), keeping the process alive: keep it short.
      disconnectTimeout: 200,
      // Commands issued in one turn of the event loop (the throttle counters of every request that arrived in it)
      // go out in one write and come back from one read: one syscall each way instead of one per request.
      enableAutoPipelining: true,
    });
    client.defineCommand('berthIncrementWindow', { numberOfKeys: 1, lua: INCREMENT_WINDOW });
    client.defineCommand('berthIncrementWindows', { lua: INCREMENT_WINDOWS });
    client.defineCommand('berthDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS });
    this.client = client as ScriptedRedis;
    const logger = options.logger;
    // Always listen: an 'error' event without a listener would make ioredis print to the console.
    client.on('error', (err: Error) => {
      this.lastError = err;
      if (!this.connectionLost && !this.closing) {
        this.connectionLost = true;
        logger?.warn({ err, redis: this.label }, `${this.label}: connection lost (${err.message}); reconnecting`);
      }
    });
    client.on('ready', () => {
      if (this.connectionLost) logger?.info({ redis: this.label }, `${this.label}: connection restored`);
      this.connectionLost = false;
      this.lastError = undefined;
    });
  }

  async incrementWindow(key: string, by: number, windowSeconds: number): Promise<WindowCount> {
    validateKey(key);
    validateIncrement(by);
    const windowMs = secondsToMs(windowSeconds, 'windowSeconds');
    const [count, ttlMs] = await this.run('incrementWindow', (c) =>
      c.berthIncrementWindow(this.prefix + key, by, windowMs),
    ).catch((err: unknown) => {
      if (err instanceof CacheUnavailableError && /not an integer/i.test(String((err.cause as Error)?.message))) {
        throw new InvalidCacheArgumentError(`key "${key}" holds a value that is not an integer counter`);
      }
      throw err;
    });
    return { count: Number(count), resetsInSeconds: msToResetSeconds(Number(ttlMs)) };
  }

  /**
   * Called for every data-plane request (the throttle's counters), so it is written without `async`: while the
   * connection is ready, two promises on top of the client's (each promise also runs the AsyncLocalStorage hooks
   * that tracing installs).
   */
  incrementWindows(keys: readonly string[], by: number, windowSeconds: number): Promise<WindowCount[]> {
    let windowMs: number;
    try {
      validateKeys(keys);
      validateIncrement(by);
      windowMs = secondsToMs(windowSeconds, 'windowSeconds');
    } catch (err) {
      return Promise.reject(err);
    }
    const prefixed = keys.map((k) => this.prefix + k);
    const send = (c: ScriptedRedis): Promise<number[]> => c.berthIncrementWindows(keys.length, ...prefixed, by, windowMs);
    const counted = (reply: number[]): WindowCount[] =>
      keys.map((_, i) => ({
        count: Number(reply[2 * i]),
        resetsInSeconds: msToResetSeconds(Number(reply[2 * i + 1])),
      }));
    const refused = (err: unknown): never => {
      if (err instanceof CacheUnavailableError && /not an integer/i.test(String((err.cause as Error)?.message))) {
        throw new InvalidCacheArgumentError('a key holds a value that is not an integer counter');
      }
      throw err;
    };
    return this.run('incrementWindows', send).then(counted, refused);
  }

  async get(key: string): Promise<string | undefined> {
    validateKey(key);
    const value = await this.run('get', (c) => c.get(this.prefix + key));
    return value ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    validateKey(key);
    validateValue(value);
    if (ttlSeconds === undefined) {
      await this.run('set', (c) => c.set(this.prefix + key, value));
      return;
    }
    const ttlMs = secondsToMs(ttlSeconds, 'ttlSeconds');
    await this.run('set', (c) => c.set(this.prefix + key, value, 'PX', ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    validateKey(key);
    validateValue(value);
    const ttlMs = secondsToMs(ttlSeconds, 'ttlSeconds');
    const reply = await this.run('setIfAbsent', (c) => c.set(this.prefix + key, value, 'PX', ttlMs, 'NX'));
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    validateKey(key);
    return (await this.run('delete', (c) => c.del(this.prefix + key))) > 0;
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    validateKey(key);
    validateValue(expected);
    return (await this.run('deleteIfEquals', (c) => c.berthDeleteIfEquals(this.prefix + key, expected))) > 0;
  }

  async ping(): Promise<void> {
    const deadline = Date.now() + this.pingTimeoutMs;
    this.assertOpen();
    await this.waitReady(this.pingTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PONG within ${this.pingTimeoutMs} ms`)),
            Math.max(deadline - Date.now(), 1),
          );
        }),
      ]);
    } catch (err) {
      throw this.unavailable('ping', err);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.client.status === 'ready') {
        // QUIT lets Redis finish what it has; bounded by the command timeout.
        await this.client.quit().catch(() => undefined);
      }
      this.client.disconnect(false);
    })();
    return this.closing;
  }

  /**
   * Runs `command`, its failures as CacheUnavailableError. While the connection is ready (nearly always) the command
   * is sent at once, with one promise of its own; otherwise it waits for the connection (see `waitReady`).
   */
  private run<T>(operation: string, command: (client: ScriptedRedis) => Promise<T>): Promise<T> {
    if (this.closing !== undefined || this.client.status !== 'ready') return this.runWhenReady(operation, command);
    let sent: Promise<T>;
    try {
      sent = command(this.client);
    } catch (err) {
      sent = Promise.reject(err);
    }
    return sent.then(undefined, (err: unknown) => {
      throw this.unavailable(operation, err);
    });
  }

  private async runWhenReady<T>(operation: string, command: (client: ScriptedRedis) => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.waitReady(this.connectTimeoutMs);
    try {
      return await command(this.client);
    } catch (err) {
      throw this.unavailable(operation, err);
    }
  }

  /**
   * Resolves once the connection is ready. While a connection attempt is under way (start-up, or a
   * reconnect in progress) it waits for it, up to `timeoutMs`; while Redis is known to be down (waiting to
   * retry) it rejects at once with the last connection error.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const client = this.client;
    switch (client.status) {
      case 'ready':
        return;
      case 'end':
      case 'close':
      case 'reconnecting':
        throw this.unavailable('connect', this.lastError ?? new Error(`connection ${client.status}`));
      case 'wait':
      case 'connecting':
      case 'connect':
        break;
    }
    // One pair of listeners per connection attempt, however many commands wait for it.
    this.attempt ??= new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        client.off('ready', onReady);
        client.off('close', onClose);
        this.attempt = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => settle();
      const onClose = (): void => settle(this.lastError ?? new Error('connection closed'));
      client.once('ready', onReady);
      client.once('close', onClose);
    });
    const attempt = this.attempt;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      throw this.unavailable('connect', err);
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(operation: string, err: unknown): CacheUnavailableError {
    if (err instanceof CacheUnavailableError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new CacheUnavailableError(`${this.label}: ${operation} failed: ${message}`, { cause: err });
  }

  private assertOpen(): void {
    if (this.closing) throw new CacheClosedError(this.label);
  }
}

/** `host:port` of a Redis URL, without credentials, for messages and logs. */
function describeEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidCacheArgumentError('redis: url is not a valid URL (expected redis://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidCacheArgumentError(`redis: url must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}
