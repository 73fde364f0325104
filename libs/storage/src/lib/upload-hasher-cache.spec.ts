import { createHash } from 'node:crypto';
import { UploadHasherCache } from './upload-hasher-cache';

describe(UploadHasherCache.name, () => {
  it('should give the digest only when the running hash covers exactly the stored size and algorithm', () => {
    const cache = new UploadHasherCache();
    const running = cache.start('r/u');
    running.hash.update('hello');
    running.offset = 5;
    const expected = createHash('sha256').update('hello').digest('hex');
    expect(cache.digestIfComplete('r/u', 5, 'sha256')).toBe(expected);
    expect(cache.digestIfComplete('r/u', 5, 'sha256')).toBe(expected); // not consumed
    expect(cache.digestIfComplete('r/u', 6, 'sha256')).toBeUndefined();
    expect(cache.digestIfComplete('r/u', 5, 'sha512')).toBeUndefined();
  });

  it('should forget a running hash that another writer got ahead of', () => {
    const cache = new UploadHasherCache();
    cache.start('r/u').offset = 5;
    expect(cache.at('r/u', 7)).toBeUndefined();
    expect(cache.at('r/u', 5)).toBeUndefined();
  });

  it('should drop the least recently used entries beyond its bound', () => {
    const cache = new UploadHasherCache(2);
    cache.start('a');
    cache.start('b');
    cache.at('a', 0); // a is now the most recent
    cache.start('c');
    expect(cache.size).toBe(2);
    expect(cache.at('b', 0)).toBeUndefined();
    expect(cache.at('a', 0)).toBeDefined();
    expect(cache.at('c', 0)).toBeDefined();
  });
});
