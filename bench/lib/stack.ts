import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'minio';
import { REPO_ROOT } from '@berth/testing';

const STACK = path.join(REPO_ROOT, 'deploy/local/stack.sh');
const TOOLS = path.join(REPO_ROOT, 'deploy/tools/install.sh');

function sh(file: string, args: string[], timeoutMs: number): string {
  return execFileSync('bash', [file, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts (if needed) the local stack on loopback and returns its BERTH_* connection settings. */
export function startStack(): Record<string, string> {
  sh(STACK, ['start', 'postgres', 'redis', 'kafka', 'minio'], 10 * 60_000);
  const settings: Record<string, string> = {};
  for (const line of sh(STACK, ['env'], 30_000).split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) settings[m[1]] = m[2];
  }
  for (const name of ['BERTH_DATABASE_URL', 'BERTH_REDIS_URL', 'BERTH_KAFKA_BROKERS', 'BERTH_S3_ENDPOINT', 'BERTH_S3_ACCESS_KEY', 'BERTH_S3_SECRET_KEY']) {
    if (!settings[name]) throw new Error(`deploy/local/stack.sh env did not give ${name}`);
  }
  const endpoint = new URL(settings['BERTH_S3_ENDPOINT'] ?? '');
  if (endpoint.hostname !== '127.0.0.1' && endpoint.hostname !== 'localhost') {
    throw new Error(`the stack's MinIO is not on loopback (${endpoint.host}); the bench only talks to 127.0.0.1`);
  }
  return settings;
}

/** Where the stack's MinIO keeps its objects (deploy/local/stack.sh: `$BERTH_STACK_DIR/minio/data`). */
export function minioDataDir(): string {
  return path.join(process.env['BERTH_STACK_DIR'] ?? path.join(REPO_ROOT, '.stack'), 'minio', 'data');
}

/** The pid of a running stack component (from `stack.sh status`), for CPU accounting. */
export function stackPid(component: 'minio' | 'postgres' | 'redis'): number | undefined {
  try {
    const out = sh(STACK, ['status', component], 30_000);
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

/** Installs (cached: instant) CNCF Distribution v3 with deploy/tools/install.sh and returns its binary. */
export function distributionBinary(): string {
  sh(TOOLS, ['distribution'], 30 * 60_000);
  return path.join(sh(TOOLS, ['path'], 30_000).trim(), 'distribution-registry');
}

/** What deploy/tools/install.sh says the installed Distribution was built from (`module@version`). */
export function distributionVersion(): string {
  try {
    const line = sh(TOOLS, ['versions'], 30_000)
      .split('\n')
      .find((l) => /^distribution\s/.test(l));
    return line?.replace(/^distribution\s+/, '').trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** First line of `<cmd> <args>` (a version), or `unknown`. */
export function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

export function s3Client(settings: Record<string, string>): Client {
  const endpoint = new URL(settings['BERTH_S3_ENDPOINT'] ?? '');
  return new Client({
    endPoint: endpoint.hostname,
    port: Number(endpoint.port || 80),
    useSSL: false,
    accessKey: settings['BERTH_S3_ACCESS_KEY'] ?? '',
    secretKey: settings['BERTH_S3_SECRET_KEY'] ?? '',
    region: settings['BERTH_S3_REGION'] ?? 'us-east-1',
    pathStyle: true,
  });
}

/** Empties (objects and unfinished multipart uploads) and removes every bucket whose name starts with `prefix`. */
export async function removeBuckets(client: Client, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const bucket of await client.listBuckets()) {
    if (!bucket.name.startsWith(prefix)) continue;
    const keys: string[] = [];
    for await (const item of client.listObjectsV2(bucket.name, '', true) as AsyncIterable<{ name?: string }>) {
      if (item.name) keys.push(item.name);
    }
    for (let i = 0; i < keys.length; i += 1000) await client.removeObjects(bucket.name, keys.slice(i, i + 1000));
    const incomplete: string[] = [];
    for await (const upload of client.listIncompleteUploads(bucket.name, '', true) as AsyncIterable<{ key: string }>) {
      incomplete.push(upload.key);
    }
    for (const key of new Set(incomplete)) await client.removeIncompleteUpload(bucket.name, key);
    await client.removeBucket(bucket.name);
    removed.push(bucket.name);
  }
  return removed;
}
