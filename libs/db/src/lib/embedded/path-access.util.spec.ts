import { canTraverse, firstUntraversable, selfAndAncestors } from './path-access.util';

describe('selfAndAncestors', () => {
  it('should list the root first and the path last', () => {
    expect(selfAndAncestors('/work/main/.berth-data')).toEqual(['/', '/work', '/work/main', '/work/main/.berth-data']);
    expect(selfAndAncestors('/')).toEqual(['/']);
  });
});

describe('canTraverse', () => {
  const POSTGRES = { uid: 101, gid: 104 };

  it('should use the owner, group or other execute bit that applies', () => {
    expect(canTraverse({ uid: 0, gid: 0, mode: 0o40755 }, POSTGRES.uid, POSTGRES.gid)).toBe(true);
    expect(canTraverse({ uid: 0, gid: 0, mode: 0o40700 }, POSTGRES.uid, POSTGRES.gid)).toBe(false);
    expect(canTraverse({ uid: 0, gid: 104, mode: 0o40750 }, POSTGRES.uid, POSTGRES.gid)).toBe(true);
    expect(canTraverse({ uid: 101, gid: 0, mode: 0o40700 }, POSTGRES.uid, POSTGRES.gid)).toBe(true);
    // The owner bits decide for the owner, even when "other" would allow it.
    expect(canTraverse({ uid: 101, gid: 0, mode: 0o40601 }, POSTGRES.uid, POSTGRES.gid)).toBe(false);
  });

  it('should let root in everywhere', () => {
    expect(canTraverse({ uid: 5, gid: 5, mode: 0o40700 }, 0, 0)).toBe(true);
  });
});

describe('firstUntraversable', () => {
  it('should name the first blocking directory, e.g. a home folder of mode 0700', () => {
    const dirs = [
      { path: '/', uid: 0, gid: 0, mode: 0o40755 },
      { path: '/root', uid: 0, gid: 0, mode: 0o40700 },
      { path: '/root/berth', uid: 0, gid: 0, mode: 0o40755 },
    ];
    expect(firstUntraversable(dirs, 101, 104)?.path).toBe('/root');
    expect(
      firstUntraversable(
        dirs.filter((d) => d.path !== '/root'),
        101,
        104,
      ),
    ).toBeUndefined();
  });
});
