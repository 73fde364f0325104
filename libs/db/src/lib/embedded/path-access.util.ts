import { stat } from 'node:fs/promises';
import * as path from 'node:path';

/** The owner and mode of a directory, as `stat` reports them. */
export interface DirInfo {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

/** `/a/b/c` → `['/', '/a', '/a/b', '/a/b/c']`. */
export function selfAndAncestors(dir: string): string[] {
  const out: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    out.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) return out;
    current = parent;
  }
}

/** Whether a user (uid, primary gid) may enter a directory with this owner and mode. */
export function canTraverse(dir: Pick<DirInfo, 'uid' | 'gid' | 'mode'>, uid: number, gid: number): boolean {
  if (uid === 0) return true;
  if (dir.uid === uid) return (dir.mode & 0o100) !== 0;
  if (dir.gid === gid) return (dir.mode & 0o010) !== 0;
  return (dir.mode & 0o001) !== 0;
}

/** The first of `dirs` the user cannot enter, or undefined. */
export function firstUntraversable(dirs: DirInfo[], uid: number, gid: number): DirInfo | undefined {
  return dirs.find((d) => !canTraverse(d, uid, gid));
}

/**
 * The first existing directory on the way to `target` (inclusive) that the user cannot enter. Directories that
 * do not exist yet are skipped (they will be created by the launcher, world-traversable).
 */
export async function findUntraversable(target: string, uid: number, gid: number): Promise<DirInfo | undefined> {
  const infos: DirInfo[] = [];
  for (const dir of selfAndAncestors(target)) {
    try {
      const s = await stat(dir);
      if (!s.isDirectory()) continue;
      infos.push({ path: dir, uid: s.uid, gid: s.gid, mode: s.mode });
    } catch {
      break;
    }
  }
  return firstUntraversable(infos, uid, gid);
}
