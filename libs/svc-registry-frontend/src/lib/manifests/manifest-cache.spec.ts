import { ManifestCache, type ManifestAnswer } from './manifest-cache';

const REG = '11111111-1111-1111-1111-111111111111';
const OTHER_REG = '22222222-2222-2222-2222-222222222222';

function answer(repositoryId: string, digest: string, readable = true): ManifestAnswer {
  return { repositoryId, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 2, readable };
}

describe(ManifestCache.name, () => {
  it('keeps nothing while inactive, and starts empty whenever it is switched', () => {
    const cache = new ManifestCache();
    cache.store(cache.ticket(), REG, 'app', 'v1', answer('r1', 'sha256:a'), Buffer.from('{}'));
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    cache.setActive(true);
    cache.store(cache.ticket(), REG, 'app', 'v1', answer('r1', 'sha256:a'), Buffer.from('{}'));
    expect(cache.answer(REG, 'app', 'v1')?.digest).toBe('sha256:a');
    expect(cache.content(REG, 'sha256:a')?.toString()).toBe('{}');
    cache.setActive(false);
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    cache.setActive(true);
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    expect(cache.size).toEqual({ answers: 0, contentBytes: 0 });
  });

  it('refuses to store what was read before an invalidation (a read racing a write)', () => {
    const cache = new ManifestCache();
    cache.setActive(true);
    const ticket = cache.ticket();
    cache.repositoryChanged('some-other-repository');
    cache.store(ticket, REG, 'app', 'v1', answer('r1', 'sha256:old'));
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    cache.store(cache.ticket(), REG, 'app', 'v1', answer('r1', 'sha256:new'));
    expect(cache.answer(REG, 'app', 'v1')?.digest).toBe('sha256:new');
  });

  it('drops a repository by id, by name, and a whole registry, never another registry', () => {
    const cache = new ManifestCache();
    cache.setActive(true);
    const fill = (): void => {
      cache.store(cache.ticket(), REG, 'app', 'v1', answer('r1', 'sha256:a'));
      cache.store(cache.ticket(), REG, 'app', 'sha256:a', answer('r1', 'sha256:a'));
      cache.store(cache.ticket(), REG, 'web', 'v1', answer('r2', 'sha256:b'));
      cache.store(cache.ticket(), OTHER_REG, 'app', 'v1', answer('r3', 'sha256:a'));
    };
    fill();
    expect(cache.size.answers).toBe(4);
    cache.repositoryChanged('r1');
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    expect(cache.answer(REG, 'app', 'sha256:a')).toBeUndefined();
    expect(cache.answer(REG, 'web', 'v1')).toBeDefined();
    expect(cache.answer(OTHER_REG, 'app', 'v1')).toBeDefined();
    fill();
    cache.repositoryNamed(REG, 'web');
    expect(cache.answer(REG, 'web', 'v1')).toBeUndefined();
    expect(cache.answer(REG, 'app', 'v1')).toBeDefined();
    fill();
    cache.registryChanged(REG);
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    expect(cache.answer(REG, 'web', 'v1')).toBeUndefined();
    expect(cache.answer(OTHER_REG, 'app', 'v1')?.digest).toBe('sha256:a');
    expect(cache.size.answers).toBe(1);
  });

  it('replaces the answers of a repository deleted and created again under the same name', () => {
    const cache = new ManifestCache();
    cache.setActive(true);
    cache.store(cache.ticket(), REG, 'app', 'v1', answer('old-id', 'sha256:a'));
    cache.store(cache.ticket(), REG, 'app', 'v2', answer('new-id', 'sha256:b'));
    expect(cache.answer(REG, 'app', 'v1')).toBeUndefined();
    cache.repositoryChanged('old-id');
    expect(cache.answer(REG, 'app', 'v2')?.digest).toBe('sha256:b');
  });

  it('stays within its answer and byte bounds, oldest first', () => {
    const cache = new ManifestCache({ maxAnswers: 3, maxContentBytes: 10 });
    cache.setActive(true);
    for (let i = 0; i < 5; i += 1) {
      cache.store(cache.ticket(), REG, `repo${i}`, 'v1', answer(`r${i}`, `sha256:${i}`), Buffer.alloc(4, i));
    }
    expect(cache.size.answers).toBe(3);
    expect(cache.size.contentBytes).toBeLessThanOrEqual(10);
    expect(cache.answer(REG, 'repo0', 'v1')).toBeUndefined();
    expect(cache.answer(REG, 'repo4', 'v1')).toBeDefined();
    expect(cache.content(REG, 'sha256:0')).toBeUndefined();
    expect(cache.content(REG, 'sha256:4')?.length).toBe(4);
    // A manifest larger than the whole byte budget is answered but its bytes are not kept.
    cache.store(cache.ticket(), REG, 'big', 'v1', answer('rb', 'sha256:big'), Buffer.alloc(11));
    expect(cache.content(REG, 'sha256:big')).toBeUndefined();
    expect(cache.answer(REG, 'big', 'v1')).toBeDefined();
  });
});
