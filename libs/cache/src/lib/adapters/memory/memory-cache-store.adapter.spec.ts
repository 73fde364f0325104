import { cacheStoreContract } from '../../testing/cache-store.contract';
import { pollUntil } from '../../testing/poll-until.util';
import { MemoryCacheBackend } from './memory-cache-backend';
import { MemoryCacheStore } from './memory-cache-store.adapter';

// TTL tests wait for 1 s windows in real time.
jest.setTimeout(15_000);

// Stores of the suite share one backend, as Redis clients share a server.
const backend = new MemoryCacheBackend();
afterAll(() => backend.dispose());

cacheStoreContract('MemoryCacheStore', {
  create: (keyPrefix) => Promise.resolve(new MemoryCacheStore({ keyPrefix, backend })),
  shared: true,
});

describe(MemoryCacheStore.name, () => {
  it('stays within maxEntries, evicting the oldest written first', async () => {
    const store = new MemoryCacheStore({ maxEntries: 10 });
    for (let i = 0; i < 25; i++) await store.set(`k${i}`, String(i));
    for (let i = 0; i < 15; i++) await expect(store.get(`k${i}`)).resolves.toBeUndefined();
    for (let i = 15; i < 25; i++) await expect(store.get(`k${i}`)).resolves.toBe(String(i));
    await store.close();
  });

  it('evicts expired entries before live ones when full', async () => {
    const own = new MemoryCacheBackend({ maxEntries: 3 });
    const store = new MemoryCacheStore({ backend: own });
    await store.set('keep-1', 'a');
    await store.set('short', 'b', 0.05);
    const expiresAt = Date.now() + 50;
    await store.set('keep-2', 'c');
    // Wait for the expiry without reading the key (a read would drop it on the way).
    await pollUntil('the short entry to expire', () => Date.now() > expiresAt, 2_000);
    expect(own.size).toBe(3);
    await store.set('new', 'd');
    expect(own.size).toBe(3);
    await expect(store.get('keep-1')).resolves.toBe('a');
    await expect(store.get('keep-2')).resolves.toBe('c');
    await expect(store.get('new')).resolves.toBe('d');
    own.dispose();
  });

  it('sweeps expired entries that are never read again', async () => {
    const own = new MemoryCacheBackend({ sweepIntervalMs: 20 });
    const store = new MemoryCacheStore({ backend: own });
    for (let i = 0; i < 50; i++) await store.set(`k${i}`, 'v', 0.05);
    expect(own.size).toBe(50);
    await pollUntil('the sweeper to drop expired entries', () => own.size === 0, 2_000);
    own.dispose();
  });

  it('close() frees a backend it owns but not a shared one', async () => {
    const shared = new MemoryCacheBackend();
    const a = new MemoryCacheStore({ backend: shared, keyPrefix: 'a:' });
    const b = new MemoryCacheStore({ backend: shared, keyPrefix: 'b:' });
    await b.set('k', 'v');
    await a.close();
    await expect(b.get('k')).resolves.toBe('v');
    shared.dispose();
  });
});
