import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inspectProcess, parsePostmasterPid } from './postmaster-pid.util';

describe('parsePostmasterPid', () => {
  it('should read pid, data folder and port', () => {
    const text = '4242\n/var/lib/berth/postgres\n1700000000\n55999\n\n127.0.0.1\n  1234567     98304\nready   \n';
    expect(parsePostmasterPid(text)).toEqual({ pid: 4242, dataDir: '/var/lib/berth/postgres', port: 55999 });
  });

  it('should treat an empty or torn file as unreadable', () => {
    expect(parsePostmasterPid('')).toBeUndefined();
    expect(parsePostmasterPid('abc\n')).toBeUndefined();
    expect(parsePostmasterPid('-5\n')).toBeUndefined();
    expect(parsePostmasterPid('77\n/data\n')).toEqual({ pid: 77, dataDir: '/data', port: undefined });
  });
});

describe('inspectProcess', () => {
  let proc: string;
  // A pid far above any real one (pid_max is at most 2^22), so the kernel answers "no such process".
  const FAKE = 4_000_000 + 17;

  async function fakeProcess(pid: number, stat: string, comm: string, args: string[]): Promise<void> {
    const dir = path.join(proc, String(pid));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'stat'), stat);
    await writeFile(path.join(dir, 'comm'), `${comm}\n`);
    await writeFile(path.join(dir, 'cmdline'), `${args.join('\0')}\0`);
  }

  beforeEach(async () => {
    proc = await mkdtemp(path.join(tmpdir(), 'berth-fake-proc-'));
  });
  afterEach(async () => {
    await rm(proc, { recursive: true, force: true });
  });

  it('should recognise the server of this data folder and its parent', async () => {
    await fakeProcess(FAKE, `${FAKE} (postgres) S 1 ${FAKE} ${FAKE} 0 -1`, 'postgres', [
      '/opt/pg/bin/postgres',
      '-D',
      '/data/pg',
      '-p',
      '5432',
    ]);
    expect(await inspectProcess(FAKE, '/data/pg', proc)).toEqual({ kind: 'postgres', parentPid: 1 });
  });

  it('should call a reused pid or another cluster "other"', async () => {
    await fakeProcess(FAKE, `${FAKE} (node (x)) S 300 1 1 0`, 'node', ['node', 'server.js']);
    expect(await inspectProcess(FAKE, '/data/pg', proc)).toEqual({ kind: 'other' });
    await fakeProcess(FAKE + 1, `${FAKE + 1} (postgres) S 1 1 1 0`, 'postgres', ['postgres', '-D', '/elsewhere']);
    expect(await inspectProcess(FAKE + 1, '/data/pg', proc)).toEqual({ kind: 'other' });
  });

  it('should call a zombie or a vanished pid "gone"', async () => {
    await fakeProcess(FAKE, `${FAKE} (postgres) Z 1 1 1 0`, 'postgres', []);
    expect(await inspectProcess(FAKE, '/data/pg', proc)).toEqual({ kind: 'gone' });
    expect(await inspectProcess(FAKE + 2, '/data/pg', proc)).toEqual({ kind: 'gone' });
  });

  it('should not guess about a live pid /proc does not show', async () => {
    expect(await inspectProcess(process.pid, '/data/pg', proc)).toEqual({ kind: 'unknown' });
  });
});
