import { readFile } from 'node:fs/promises';

/** The lines of `postmaster.pid` Berth uses (PostgreSQL writes pid, data directory, start time, port, ...). */
export interface PostmasterPid {
  pid: number;
  dataDir: string;
  port: number | undefined;
}

/** Parses a `postmaster.pid`; undefined when it is empty or malformed (a crash while writing it). */
export function parsePostmasterPid(text: string): PostmasterPid | undefined {
  const lines = text.split('\n');
  const pid = Number(lines[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const port = Number(lines[3]?.trim());
  return { pid, dataDir: (lines[1] ?? '').trim(), port: Number.isInteger(port) && port > 0 ? port : undefined };
}

/** What runs under a pid, as far as /proc tells (Linux). */
export type ProcessState =
  | { kind: 'gone' }
  /** A postgres server for `dataDir` (its `-D` argument matches), and its parent process. */
  | { kind: 'postgres'; parentPid: number }
  /** Something else reuses the pid (common in containers after a restart). */
  | { kind: 'other' }
  /** The pid exists but /proc does not show it (not Linux, or hidden): let PostgreSQL decide. */
  | { kind: 'unknown' };

async function readProc(procRoot: string, pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`${procRoot}/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** Classifies `pid` relative to the cluster in `dataDir`. `procRoot` is a parameter for tests. */
export async function inspectProcess(pid: number, dataDir: string, procRoot = '/proc'): Promise<ProcessState> {
  const stat = await readProc(procRoot, pid, 'stat');
  if (stat === undefined) {
    // No /proc entry: not Linux, /proc mounted with hidepid, or the process is gone. Only the kernel's answer
    // can tell "gone" safely; removing the lock file of a live postmaster would let two servers share the data.
    return pidExists(pid) ? { kind: 'unknown' } : { kind: 'gone' };
  }
  // stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses, so split after the last ')'.
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (afterComm[0] === 'Z') return { kind: 'gone' };
  const comm = (await readProc(procRoot, pid, 'comm'))?.trim();
  const args = ((await readProc(procRoot, pid, 'cmdline')) ?? '').split('\0');
  const dIndex = args.indexOf('-D');
  const servesDataDir = dIndex >= 0 && args[dIndex + 1] === dataDir;
  if (comm !== 'postgres' || !servesDataDir) return { kind: 'other' };
  return { kind: 'postgres', parentPid: Number(afterComm[1]) };
}
