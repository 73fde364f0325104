import { randomUUID } from 'node:crypto';
import type { CacheStore } from '../cache-store.port';
import { CacheClosedError } from '../errors/cache-closed.error';
import { InvalidCacheArgumentError } from '../errors/invalid-cache-argument.error';
import { pollUntil } from './poll-until.util';

export interface CacheStoreContractSubject {
  /**
   * Creates a store whose keys live under `keyPrefix`. Stores created with the same prefix must share
   * their keys when `shared` is true (Redis: one server), which enables the cross-instance tests.
   */
  create(keyPrefix: string): Promise<CacheStore>;
  shared: boolean;
  /** Removes everything under `keyPrefix` from the server. Optional. */
  cleanup?(keyPrefix: string): Promise<void>;
}

/**
 * The CacheStore contract: every adapter must pass it (memory in a unit spec, Redis in an integration
 * spec). Each test runs under its own random key prefix, so tests are independent of each other and of
 * parallel runs against the same server.
 */
export function cacheStoreContract(name: string, subject: CacheStoreContractSubject): void {
  describe(`${name} honours CacheStore`, () => {
    const stores: CacheStore[] = [];
    const prefixes: string[] = [];
    let prefix: string;
    let store: CacheStore;

    const open = async (keyPrefix = prefix): Promise<CacheStore> => {
      const created = await subject.create(keyPrefix);
      stores.push(created);
      return created;
    };

    beforeEach(async () => {
      prefix = `berth-test:${randomUUID()}:`;
      prefixes.push(prefix);
      store = await open();
    });

    afterEach(async () => {
      await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    });

    afterAll(async () => {
      for (const p of prefixes) await subject.cleanup?.(p);
    });

    it('ping resolves while the store is up', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('get resolves undefined for an absent key; set then get round-trips, and set replaces', async () => {
      await expect(store.get('absent')).resolves.toBeUndefined();
      await store.set('k', 'v1');
      await expect(store.get('k')).resolves.toBe('v1');
      await store.set('k', 'ünïcødé ✓ and "quotes"');
      await expect(store.get('k')).resolves.toBe('ünïcødé ✓ and "quotes"');
      await store.set('empty', '');
      await expect(store.get('empty')).resolves.toBe('');
    });

    it('expires a value after its TTL; a value set without TTL stays', async () => {
      await store.set('short', 'v', 1);
      await store.set('forever', 'v');
      await expect(store.get('short')).resolves.toBe('v');
      await pollUntil('the 1 s TTL to expire', async () => (await store.get('short')) === undefined, 5_000);
      await expect(store.get('forever')).resolves.toBe('v');
      // set replaces the expiry too: a value re-set without TTL no longer expires.
      await store.set('renewed', 'a', 1);
      await store.set('renewed', 'b');
      await store.set('probe', 'p', 1);
      await pollUntil('the probe to expire', async () => (await store.get('probe')) === undefined, 5_000);
      await expect(store.get('renewed')).resolves.toBe('b');
    });

    it('honours sub-second TTLs', async () => {
      await store.set('fast', 'v', 0.3);
      await pollUntil('the 300 ms TTL to expire', async () => (await store.get('fast')) === undefined, 3_000);
    });

    it('setIfAbsent stores only when absent, and again once the holder expired', async () => {
      await expect(store.setIfAbsent('lock', 'owner-1', 1)).resolves.toBe(true);
      await expect(store.setIfAbsent('lock', 'owner-2', 1)).resolves.toBe(false);
      await expect(store.get('lock')).resolves.toBe('owner-1');
      await pollUntil('the lock to expire', async () => (await store.get('lock')) === undefined, 5_000);
      await expect(store.setIfAbsent('lock', 'owner-2', 30)).resolves.toBe(true);
      await expect(store.get('lock')).resolves.toBe('owner-2');
    });

    it('setIfAbsent lets exactly one of 100 concurrent callers win', async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.setIfAbsent('contended', `owner-${i}`, 30)),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      await expect(store.get('contended')).resolves.toBe(`owner-${winners[0]}`);
    });

    it('delete removes a key and tells whether it existed', async () => {
      await store.set('gone', 'v');
      await expect(store.delete('gone')).resolves.toBe(true);
      await expect(store.get('gone')).resolves.toBeUndefined();
      await expect(store.delete('gone')).resolves.toBe(false);
      await expect(store.delete('never')).resolves.toBe(false);
    });

    it('deleteIfEquals removes only the expected value (safe lock release)', async () => {
      await store.setIfAbsent('lock', 'mine', 30);
      await expect(store.deleteIfEquals('lock', 'theirs')).resolves.toBe(false);
      await expect(store.get('lock')).resolves.toBe('mine');
      await expect(store.deleteIfEquals('lock', 'mine')).resolves.toBe(true);
      await expect(store.get('lock')).resolves.toBeUndefined();
      await expect(store.deleteIfEquals('lock', 'mine')).resolves.toBe(false);
    });

    it('incrementWindow counts within a window and reports when it resets', async () => {
      await expect(store.incrementWindow('ops', 1, 60)).resolves.toEqual({ count: 1, resetsInSeconds: 60 });
      await expect(store.incrementWindow('ops', 1, 60)).resolves.toMatchObject({ count: 2 });
      const after = await store.incrementWindow('ops', 5, 60);
      expect(after.count).toBe(7);
      expect(after.resetsInSeconds).toBeGreaterThanOrEqual(59);
      expect(after.resetsInSeconds).toBeLessThanOrEqual(60);
      await expect(store.incrementWindow('ops', 0, 60)).resolves.toMatchObject({ count: 7 });
      await expect(store.get('ops')).resolves.toBe('7');
      // Counters are independent per key.
      await expect(store.incrementWindow('other', 1, 60)).resolves.toMatchObject({ count: 1 });
    });

    it('incrementWindow starts a new window after windowSeconds, and increments never extend a window', async () => {
      const first = await store.incrementWindow('win', 1, 1);
      expect(first).toEqual({ count: 1, resetsInSeconds: 1 });
      const started = Date.now();
      // Keep incrementing: if an increment extended the expiry, the window would never end.
      const restarted = await pollUntil(
        'the 1 s window to reset',
        async () => {
          const state = await store.incrementWindow('win', 1, 1);
          return state.count === 1 ? state : undefined;
        },
        5_000,
        50,
      );
      expect(restarted.resetsInSeconds).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it('incrementWindow is atomic: 200 concurrent increments see 200 distinct counts', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.incrementWindow('hot', 1, 60)));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await expect(store.get('hot')).resolves.toBe('200');
    });

    it('incrementWindows counts every key in one call, in order, sharing counters with incrementWindow', async () => {
      await store.incrementWindow('b', 4, 60);
      const counts = await store.incrementWindows(['a', 'b', 'a'], 1, 60);
      expect(counts.map((c) => c.count)).toEqual([1, 5, 2]);
      for (const c of counts) expect(c.resetsInSeconds).toBeGreaterThanOrEqual(59);
      await expect(store.get('a')).resolves.toBe('2');
      await expect(store.incrementWindow('b', 0, 60)).resolves.toMatchObject({ count: 5 });
      // A window started by incrementWindows is fixed as well: its reset time counts down, never extended.
      const first = await store.incrementWindows(['short'], 1, 1);
      expect(first).toEqual([{ count: 1, resetsInSeconds: 1 }]);
      await pollUntil(
        'the 1 s window of incrementWindows to reset',
        async () => (await store.incrementWindows(['short', 'a'], 1, 1))[0]?.count === 1,
        5_000,
        50,
      );
    });

    it('incrementWindows is atomic per key: 100 concurrent calls on two keys see 100 distinct counts each', async () => {
      const results = await Promise.all(Array.from({ length: 100 }, () => store.incrementWindows(['x', 'y'], 1, 60)));
      const expected = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(results.map((r) => r[0]?.count).sort((a = 0, b = 0) => a - b)).toEqual(expected);
      expect(results.map((r) => r[1]?.count).sort((a = 0, b = 0) => a - b)).toEqual(expected);
    });

    it('incrementWindows refuses invalid arguments and counts nothing then', async () => {
      await expect(store.incrementWindows([], 1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindows(Array.from({ length: 17 }, (_, i) => `k${i}`), 1, 60)).rejects.toBeInstanceOf(
        InvalidCacheArgumentError,
      );
      await expect(store.incrementWindows(['ok', ''], 1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindows(['ok'], -1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindows(['ok'], 1, 0)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.get('ok')).resolves.toBeUndefined();
      await store.set('text', 'not a number');
      await expect(store.incrementWindows(['text'], 1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.get('text')).resolves.toBe('not a number');
    });

    it('incrementWindow rejects a key holding a non-integer value with InvalidCacheArgumentError', async () => {
      await store.set('text', 'not a number');
      await expect(store.incrementWindow('text', 1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.get('text')).resolves.toBe('not a number');
    });

    it('rejects invalid arguments with InvalidCacheArgumentError', async () => {
      await expect(store.get('')).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.set('k', 'v', 0)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.set('k', 'v', -1)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.setIfAbsent('k', 'v', Number.NaN)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindow('k', -1, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindow('k', 1.5, 60)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.incrementWindow('k', 1, 0)).rejects.toBeInstanceOf(InvalidCacheArgumentError);
      await expect(store.get('k')).resolves.toBeUndefined();
    });

    it('keeps stores with different key prefixes apart', async () => {
      const otherPrefix = `berth-test:${randomUUID()}:`;
      prefixes.push(otherPrefix);
      const other = await open(otherPrefix);
      await store.set('same-key', 'mine');
      await expect(other.get('same-key')).resolves.toBeUndefined();
      await expect(other.incrementWindow('same-key-counter', 1, 60)).resolves.toMatchObject({ count: 1 });
      await expect(store.get('same-key-counter')).resolves.toBeUndefined();
    });

    it('close() is idempotent; later calls reject with CacheClosedError', async () => {
      const closing = await open();
      await closing.set('k', 'v');
      await Promise.all([closing.close(), closing.close()]);
      await closing.close();
      await expect(closing.get('k')).rejects.toBeInstanceOf(CacheClosedError);
      await expect(closing.ping()).rejects.toBeInstanceOf(CacheClosedError);
      await expect(closing.incrementWindow('c', 1, 60)).rejects.toBeInstanceOf(CacheClosedError);
    });

    if (subject.shared) {
      it('stays atomic across two store instances: increments, and setIfAbsent exclusivity', async () => {
        const second = await open();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store : second).incrementWindow('shared', 1, 60)),
        );
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        const wins = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : second).setIfAbsent('one-lock', `o${i}`, 30)),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
        await expect(second.get('shared')).resolves.toBe('200');
      });
    }
  });
}
