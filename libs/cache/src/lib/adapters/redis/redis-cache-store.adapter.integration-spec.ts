import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { BerthCacheModule } from '../../cache.module';
import { CACHE_STORE } from '../../cache-store.port';
import type { CacheStore } from '../../cache-store.port';
import { CacheClosedError } from '../../errors/cache-closed.error';
import { CacheUnavailableError } from '../../errors/cache-unavailable.error';
import { cacheStoreContract } from '../../testing/cache-store.contract';
import { pollUntil } from '../../testing/poll-until.util';
import { RedisCacheStore } from './redis-cache-store.adapter';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the integration tests through Jest's integration project (its globalSetup starts the local stack) or export the settings of \`bash deploy/local/stack.sh env\``,
    );
  }
  return value;
}

const url = requireEnv('BERTH_REDIS_URL');

/** Deletes every key under the prefix (SCAN, never KEYS: the server is shared with other tests). */
async function cleanup(keyPrefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

cacheStoreContract('RedisCacheStore (local Redis)', {
  create: (keyPrefix) => Promise.resolve(new RedisCacheStore({ url, keyPrefix })),
  shared: true,
  cleanup,
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A private redis-server, so that stopping it disturbs nobody else using the shared one. */
function startRedis(port: number): ChildProcess {
  const bin = process.env['BERTH_REDIS_SERVER_BIN'] ?? 'redis-server';
  const child = spawn(bin, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  child.once('error', (err) => {
    throw new Error(
      `cannot start ${bin} (installed by deploy/local/stack.sh; override with BERTH_REDIS_SERVER_BIN): ${err.message}`,
    );
  });
  return child;
}

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function settleTime(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: Date.now() - started, error };
}

describe(RedisCacheStore.name, () => {
  const keyPrefix = `berth-test:${randomUUID()}:`;
  afterAll(() => cleanup(keyPrefix));

  it('ping rejects within 2.5 s, naming Redis, when nothing listens', async () => {
    const store = new RedisCacheStore({ url: 'redis://127.0.0.1:1', keyPrefix });
    for (let i = 0; i < 2; i++) {
      const { ms, error } = await settleTime(store.ping());
      expect(ms).toBeLessThan(2_500);
      expect(error).toBeInstanceOf(CacheUnavailableError);
      expect((error as Error).message).toMatch(/redis 127\.0\.0\.1:1/);
    }
    const { ms, error } = await settleTime(store.get('k'));
    expect(ms).toBeLessThan(2_500);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    await store.close();
  });

  it('serves a command issued right after construction (waits for the first connection)', async () => {
    const store = new RedisCacheStore({ url, keyPrefix });
    await expect(store.incrementWindow('immediate', 1, 60)).resolves.toMatchObject({ count: 1 });
    await store.close();
  });

  it('never puts credentials of the URL into error messages', async () => {
    const store = new RedisCacheStore({ url: 'redis://user:s3cret@127.0.0.1:1', keyPrefix });
    const { error } = await settleTime(store.ping());
    expect((error as Error).message).not.toContain('s3cret');
    await store.close();
  });

  it('fails fast while Redis is down and works again, on the same store, once it is back', async () => {
    const port = await freePort();
    let server = startRedis(port);
    const store = new RedisCacheStore({ url: `redis://127.0.0.1:${port}`, keyPrefix });
    try {
      await pollUntil(
        'the private Redis to answer',
        () =>
          store.ping().then(
            () => true,
            () => false,
          ),
        10_000,
        50,
      );
      await expect(store.incrementWindow('restart', 1, 60)).resolves.toMatchObject({ count: 1 });

      await stopRedis(server);
      for (const operation of [store.ping(), store.incrementWindow('restart', 1, 60), store.get('restart')]) {
        const { ms, error } = await settleTime(operation);
        expect(error).toBeInstanceOf(CacheUnavailableError);
        expect((error as Error).message).toMatch(/redis/);
        expect(ms).toBeLessThan(2_500);
      }

      server = startRedis(port);
      await pollUntil(
        'ping to succeed after the restart',
        () =>
          store.ping().then(
            () => true,
            () => false,
          ),
        10_000,
        50,
      );
      // The restarted server has neither the data (no persistence) nor the cached Lua scripts.
      await expect(store.incrementWindow('restart', 1, 60)).resolves.toMatchObject({ count: 1 });
      await expect(store.setIfAbsent('lock', 'me', 30)).resolves.toBe(true);
      await expect(store.deleteIfEquals('lock', 'me')).resolves.toBe(true);
    } finally {
      await store.close();
      await stopRedis(server);
    }
  });

  it('waits out a reply slower than a second (the default timeout is 5 s) and times out past its own timeout', async () => {
    const port = await freePort();
    const server = startRedis(port);
    const patient = new RedisCacheStore({ url: `redis://127.0.0.1:${port}`, keyPrefix });
    const hasty = new RedisCacheStore({ url: `redis://127.0.0.1:${port}`, keyPrefix, commandTimeoutMs: 500 });
    const admin = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      for (const store of [patient, hasty]) {
        await pollUntil('the private Redis to answer', () => store.ping().then(() => true, () => false), 10_000, 50);
      }
      await admin.connect();
      // A stalled server (every client's commands held for 1.5 s): what an overloaded host or a lagging event loop
      // looks like from the store.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const [slow, quick] = await Promise.all([settleTime(patient.get('stalled')), settleTime(hasty.get('stalled'))]);
      expect(slow.error).toBeUndefined();
      expect(slow.ms).toBeGreaterThanOrEqual(1_000);
      expect(quick.error).toBeInstanceOf(CacheUnavailableError);
      expect(quick.ms).toBeLessThan(1_400);
    } finally {
      admin.disconnect();
      await patient.close();
      await hasty.close();
      await stopRedis(server);
    }
  });

  it("BerthCacheModule.forRoot({ driver: 'redis' }) provides a working store and closes it on shutdown", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BerthCacheModule.forRoot({ driver: 'redis', redis: { url, keyPrefix } })],
    }).compile();
    await moduleRef.init();
    const store = moduleRef.get<CacheStore>(CACHE_STORE);
    expect(store).toBeInstanceOf(RedisCacheStore);
    await expect(store.incrementWindow('module', 1, 60)).resolves.toMatchObject({ count: 1 });
    await moduleRef.close();
    await expect(store.ping()).rejects.toBeInstanceOf(CacheClosedError);
  });
});
