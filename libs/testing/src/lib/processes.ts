import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');

/**
 * The V8 flags every Berth service runs with, as `npm start` passes them (the `node` options before `-r` in the
 * `start` script of `<root>/package.json`): tests and benchmarks start the apps exactly as operators do. The
 * other launchers (the apps' `serve` targets, the Dockerfile, the Helm chart) are checked against it by
 * launch-commands.spec.ts.
 */
export function nodeRuntimeFlags(root: string = REPO_ROOT): string[] {
  const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const match = /^node((?:\s+--[\w-]+(?:=\S+)?)*)\s+-r\s/.exec(start);
  if (!match) throw new Error(`package.json: the start script is not "node [--flags] -r ...": ${start}`);
  return (match[1] ?? '').trim().split(/\s+/).filter((flag) => flag !== '');
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small window before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process wrote so far (its JSON log lines). */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts an app from source the way `npm start` / `nx run <app>:serve` do, with the given environment
 * on top of this process's. The caller stops it with `stopProcess`.
 */
export function startApp(app: string, env: Record<string, string>, port: number): ServiceProcess {
  const child = spawn(process.execPath, [...nodeRuntimeFlags(), '-r', './scripts/register.cjs', `apps/${app}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, BERTH_LOG_LEVEL: 'info', ...env, BERTH_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const scheme = env['BERTH_TLS'] && env['BERTH_TLS'] !== 'off' ? 'https' : 'http';
  return { name: app, child, url: `${scheme}://127.0.0.1:${port}`, output: () => out, exited };
}

/** SIGTERM, then the exit code; SIGKILL (and a rejection) when it does not end within `timeoutMs`. */
export async function stopProcess(p: ServiceProcess, timeoutMs = 20000): Promise<number | string> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${p.name} did not stop within ${timeoutMs} ms after SIGTERM`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
