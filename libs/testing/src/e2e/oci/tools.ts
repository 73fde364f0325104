import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../lib/processes';

/** The tools deploy/tools/install.sh installs (its default set), by the name of their binary in its bin dir. */
export type OciTool = 'conformance' | 'crane' | 'oras' | 'regctl' | 'helm' | 'skopeo';

const BINARY: Record<OciTool, string> = {
  conformance: 'oci-conformance',
  crane: 'crane',
  oras: 'oras',
  regctl: 'regctl',
  helm: 'helm',
  skopeo: 'skopeo',
};

export const INSTALL_SCRIPT = path.join(REPO_ROOT, 'deploy/tools/install.sh');

/** A cold install builds every tool from source (minutes on two cores); a cached one answers at once. */
export const INSTALL_TIMEOUT_MS = 25 * 60 * 1000;

export interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added on top of this process's environment (or the whole environment with `replaceEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment instead of this process's. */
  replaceEnv?: boolean;
  /** The child is killed (SIGKILL) after this long and the result says so. Default 60 s. */
  timeoutMs?: number;
}

/** Runs a program with a hard deadline; resolves for any exit status (code, or the signal's name). */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60000;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.replaceEnv ? { ...opts.env } : { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | string): void => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        code: timedOut ? 'TIMEOUT' : code,
        stdout: Buffer.concat(out).toString(),
        stderr: timedOut ? `${stderr}\n[killed: no exit within ${timeoutMs} ms]` : stderr,
      });
    };
    child.once('error', (e) => finish(`SPAWN_ERROR ${e.message}`));
    child.once('close', (code, signal) => finish(code ?? signal ?? 'unknown'));
  });
}

/** `run`, but rejects unless the exit code is 0, with the command line and both outputs in the message. */
export async function mustRun(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(file, args, opts);
  if (res.code !== 0) {
    throw new Error(
      `\`${path.basename(file)} ${args.join(' ')}\` exited ${res.code}\n--- stdout ---\n${res.stdout.slice(-3000)}\n--- stderr ---\n${res.stderr.slice(-3000)}`,
    );
  }
  return res;
}

/** The bin directory install.sh installs into (it honours BERTH_TOOLS_DIR and BERTH_STACK_CACHE). */
export function toolsBinDir(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', [INSTALL_SCRIPT, 'path'], { timeout: 10000 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout.trim()),
    ),
  );
}

/**
 * Installs the named tools with deploy/tools/install.sh (idempotent: instant when cached; concurrent callers
 * queue on its lock) and returns the path of each binary. Never skips: a tool that cannot be installed
 * fails the calling test, under CI=true and locally alike, telling how to install it by hand.
 */
export async function ensureTools<T extends OciTool>(tools: readonly T[]): Promise<Record<T, string>> {
  const res = await run('bash', [INSTALL_SCRIPT, ...tools], { timeoutMs: INSTALL_TIMEOUT_MS });
  const bin = await toolsBinDir();
  const paths = Object.fromEntries(tools.map((t) => [t, path.join(bin, BINARY[t])])) as Record<T, string>;
  const missing = tools.filter((t) => !existsSync(paths[t]));
  if (res.code !== 0 || missing.length) {
    throw new Error(
      `OCI tools missing (${missing.join(', ') || 'install failed'}): run deploy/tools/install.sh ${tools.join(' ')} ` +
        `(exit ${res.code})\n${res.stderr.slice(-4000)}`,
    );
  }
  return paths;
}
