import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type * as http from 'node:http';
import { MIB, sha256, smallBlob, type BlobSpec } from './data';
import { Histogram } from './histogram';
import { header, keepAliveAgent } from './http';
import { runLoad, type LoadResult } from './load';
import { pullUrl, RegistryClient } from './oci';
import { cpuSecondsOf, waitForQuiet, watchMemory, type QuietWait } from './proc';
import type { Target } from './targets';

export interface PushResult {
  readonly seconds: number;
  readonly mibps: number;
  /** CPU seconds of the measured registry process during the push. */
  readonly cpuSeconds: number;
  /** RSS of the measured process during the push. */
  readonly memory: { baseMiB: number; peakMiB: number; growthMiB: number; samples: number; hwmReset: boolean };
  readonly requests: number;
  /**
   * How long a `sync` right after the 201 took: the write-back the registry left to the kernel (Berth's
   * filesystem store fdatasyncs before it answers; Distribution's does not), plus whatever else was dirty.
   */
  readonly syncSeconds: number;
  /** The wait for a quiet machine before the clock started (see `settle`). */
  readonly quiet: QuietWait;
}

/** The longest of several waits for a quiet machine (not quiet at all if any of them timed out). */
function worstWait(waits: readonly QuietWait[]): QuietWait {
  return {
    waitedSeconds: Math.max(0, ...waits.map((w) => w.waitedSeconds)),
    busy: Math.max(0, ...waits.map((w) => w.busy)),
    quiet: waits.every((w) => w.quiet),
  };
}

/** Several rounds of one push: median throughput and CPU, the worst memory growth, every round's MiB/s. */
export interface PushSummary extends PushResult {
  readonly runs: number[];
}

export function summarizePush(rounds: readonly PushResult[]): PushSummary {
  const worst = rounds.reduce((a, b) => (b.memory.growthMiB > a.memory.growthMiB ? b : a));
  return {
    seconds: median(rounds.map((r) => r.seconds)),
    mibps: median(rounds.map((r) => r.mibps)),
    cpuSeconds: median(rounds.map((r) => r.cpuSeconds)),
    memory: worst.memory,
    requests: worst.requests,
    syncSeconds: median(rounds.map((r) => r.syncSeconds)),
    quiet: worstWait(rounds.map((r) => r.quiet)),
    runs: rounds.map((r) => r.mibps),
  };
}

export interface ManyResult {
  readonly layers: number;
  readonly seconds: number;
  readonly layersPerSecond: number;
  readonly mibps: number;
  /** POST + PUT of one layer, ms. */
  readonly latency: ReturnType<Histogram['summary']>;
  readonly cpuSeconds: number;
  /** The wait for a quiet machine before the clock started (see `settle`); summaries: the longest. */
  readonly quiet: QuietWait;
  /** Layers/s of each round (summaries only). */
  readonly runs?: number[];
}

/** Median over rounds; the latency percentiles of all rounds' layers together (`merged`). */
export function summarizeMany(rounds: readonly ManyResult[], merged: Histogram): ManyResult {
  return {
    layers: rounds[0]?.layers ?? 0,
    seconds: median(rounds.map((r) => r.seconds)),
    layersPerSecond: median(rounds.map((r) => r.layersPerSecond)),
    mibps: median(rounds.map((r) => r.mibps)),
    latency: merged.summary(),
    cpuSeconds: median(rounds.map((r) => r.cpuSeconds)),
    quiet: worstWait(rounds.map((r) => r.quiet)),
    runs: rounds.map((r) => r.layersPerSecond),
  };
}

export type PullMode = 'stream' | 'redirect' | 'proxy' | 'direct';

export interface PullResult {
  readonly mode: PullMode;
  /** MiB/s of each timed download. */
  readonly runs: number[];
  readonly medianMibps: number;
  /** Where the bytes came from (registry, or MinIO after a redirect). */
  readonly servedBy: string;
}

export interface ManifestResult extends LoadResult {
  /** CPU time of the registry process per counted request, µs. */
  readonly serverCpuUsPerRequest: number;
  /** CPU use of this (load generating) process during the window, in % of one core. */
  readonly clientCpuPercent: number;
  /** req/s of each round (summaries only). */
  readonly runs?: number[];
}

/** All rounds together: requests ÷ seconds, latency of every counted request (`merged`), CPU per request. */
export function summarizeManifest(rounds: readonly ManifestResult[], merged: Histogram): ManifestResult {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const first = rounds.find((r) => r.firstError !== undefined);
  return {
    requests,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    firstError: first?.firstError,
    rps: requests / seconds,
    latency: merged.summary(),
    connectionsOpened: Math.max(...rounds.map((r) => r.connectionsOpened)),
    seconds,
    serverCpuUsPerRequest: rounds.reduce((n, r) => n + r.serverCpuUsPerRequest * r.requests, 0) / Math.max(1, requests),
    clientCpuPercent: rounds.reduce((n, r) => n + r.clientCpuPercent * r.seconds, 0) / seconds,
    runs: rounds.map((r) => r.rps),
  };
}

/** Writes dirty pages to disk so that one run's write-back does not land in the next one's measurement. */
export function flushDisks(): void {
  try {
    execFileSync('sync', [], { timeout: 120_000, stdio: 'ignore' });
  } catch {
    // best effort
  }
}

/**
 * Writes dirty pages to disk, then empties the page cache (`/proc/sys/vm/drop_caches`, when this process may write
 * it: root), so that every timed push starts with the same free memory: once the cache is full, writing a GiB
 * also means reclaiming a GiB, at a cost (charged to the writing process) that depends on what ran before.
 * Returns whether the cache was dropped.
 */
export function settleMemory(): boolean {
  flushDisks();
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

/**
 * Before a timed push: dirty pages written and the page cache emptied (`settleMemory`), then a wait until the
 * machine is quiet (`waitForQuiet`), so the write-back of that `sync` and background work left by the previous
 * workload (MinIO after an S3 push, above all) do not run inside this push's window.
 */
export async function settle(): Promise<QuietWait> {
  settleMemory();
  return waitForQuiet();
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return out;
}

/** Push of one large blob, monolithic (POST + one PUT) or chunked (POST + PATCHes + PUT), with RSS sampling. */
export async function pushLarge(target: Target, repo: string, blob: BlobSpec, mode: 'monolithic' | 'chunked', chunkSize: number): Promise<PushResult> {
  const agent = keepAliveAgent(4);
  const client = new RegistryClient(target.url, agent, target.auth);
  const quiet = await settle();
  const cpu0 = cpuSecondsOf(target.pid);
  const watch = watchMemory(target.pid);
  const t0 = performance.now();
  let requests = 2;
  try {
    if (mode === 'monolithic') await client.pushMonolithic(repo, blob);
    else requests += await client.pushChunked(repo, blob, chunkSize);
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const memory = watch.stop();
  const cpuSeconds = cpuSecondsOf(target.pid) - cpu0;
  const s0 = performance.now();
  flushDisks();
  const syncSeconds = (performance.now() - s0) / 1000;
  return { seconds, mibps: blob.size / MIB / seconds, cpuSeconds, memory, requests, syncSeconds, quiet };
}

/** Every blob is there with its size and digest, and its bytes hash to the digest (a full, untimed download). */
export async function verifyBlobs(target: Target, repo: string, blobs: readonly BlobSpec[], concurrency: number): Promise<void> {
  const agent = keepAliveAgent(concurrency);
  const pullAgent = keepAliveAgent(concurrency);
  const client = new RegistryClient(target.url, agent, target.auth);
  try {
    await mapLimit(blobs, concurrency, async (blob) => {
      const head = await client.headBlob(repo, blob.digest);
      if (head.size !== blob.size || head.digest !== blob.digest) {
        throw new Error(`${target.id}: HEAD ${blob.digest} says ${head.size} bytes, ${String(head.digest)}`);
      }
      await client.pullBlob(repo, blob, 'hash', pullAgent);
    });
  } finally {
    agent.destroy();
    pullAgent.destroy();
  }
}

/** `blobs.length` monolithic (POST + PUT) pushes, all started at once, each on its own connection. */
export async function pushMany(target: Target, repo: string, blobs: readonly BlobSpec[], merged?: Histogram): Promise<ManyResult> {
  const agent = keepAliveAgent(blobs.length);
  const client = new RegistryClient(target.url, agent, target.auth);
  const histogram = new Histogram();
  const quiet = await settle();
  const cpu0 = cpuSecondsOf(target.pid);
  const t0 = performance.now();
  try {
    await Promise.all(
      blobs.map(async (blob) => {
        const started = performance.now();
        await client.pushMonolithic(repo, blob);
        histogram.record(performance.now() - started);
        merged?.record(performance.now() - started);
      }),
    );
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const bytes = blobs.reduce((n, b) => n + b.size, 0);
  return {
    layers: blobs.length,
    seconds,
    layersPerSecond: blobs.length / seconds,
    mibps: bytes / MIB / seconds,
    latency: histogram.summary(),
    cpuSeconds: cpuSecondsOf(target.pid) - cpu0,
    quiet,
  };
}

/** The URLs a pull mode starts from. `direct` is the presigned MinIO URL the registry's redirect points to. */
export async function pullUrls(target: Target, repo: string, blob: BlobSpec): Promise<Partial<Record<PullMode, URL>>> {
  const path = `/v2/${repo}/blobs/${blob.digest}`;
  if (target.storage === 'fs') return { stream: new URL(path, target.url) };
  const urls: Partial<Record<PullMode, URL>> = { redirect: new URL(path, target.url) };
  if (target.proxyUrl) urls.proxy = new URL(path, target.proxyUrl);
  const agent = keepAliveAgent(1);
  try {
    const location = await new RegistryClient(target.url, agent, target.auth).redirectOf(repo, blob.digest);
    if (!location) throw new Error(`${target.id}: the redirecting instance streamed the blob instead of redirecting`);
    urls.direct = new URL(location);
  } finally {
    agent.destroy();
  }
  return urls;
}

/**
 * One timed download (length and spot checks verified; a redirect followed), MiB/s. `authorization` (Berth) is got
 * before the clock starts: a docker client holds its token before it pulls.
 */
export async function timedPull(url: URL, blob: BlobSpec, agent: http.Agent, authorization?: string): Promise<{ mibps: number; servedBy: string; redirected: boolean }> {
  const t0 = performance.now();
  const { redirected, from } = await pullUrl(url, blob, 'spot', agent, authorization);
  const seconds = (performance.now() - t0) / 1000;
  return { mibps: blob.size / MIB / seconds, servedBy: from, redirected };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Pushes a small image (config, one 4 KiB layer, OCI manifest) tagged `tag`; returns the manifest digest. */
export async function pushImage(target: Target, repo: string, tag: string): Promise<{ digest: string; size: number }> {
  const layer = smallBlob(9001, 4096);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [layer.spec.digest] },
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.spec.digest, size: layer.bytes.length }],
    }),
  );
  const digest = sha256(manifest);
  const agent = keepAliveAgent(2);
  const client = new RegistryClient(target.url, agent, target.auth);
  try {
    await client.pushBytes(repo, configDigest, config);
    await client.pushBytes(repo, layer.spec.digest, layer.bytes);
    await client.putManifest(repo, tag, OCI_MANIFEST, manifest, digest);
    const res = await client.getManifest(repo, tag, OCI_MANIFEST);
    if (res.status !== 200 || sha256(res.body) !== digest) throw new Error(`${target.id}: GET ${repo}:${tag} did not return the manifest pushed`);
  } finally {
    agent.destroy();
  }
  return { digest, size: manifest.length };
}

/** GET /v2/<repo>/manifests/<tag> under closed-loop load; every response's body must hash to `digest`. */
export async function manifestLoad(
  target: Target,
  repo: string,
  tag: string,
  digest: string,
  opts: { connections: number; warmupMs: number; durationMs: number },
  merged?: Histogram,
): Promise<ManifestResult> {
  let cpu0 = Number.NaN;
  let cpu1 = Number.NaN;
  let client0 = process.cpuUsage();
  let client1 = client0;
  let wall0 = 0;
  let wall1 = 0;
  // Berth: a token held before the window opens; the load generator asks for the header per request, and a token
  // that comes due during the run is fetched again in the background (as docker would, between requests).
  let authorization = target.auth ? await target.auth.headerFor(repo) : undefined;
  const result = await runLoad({
    url: new URL(`/v2/${repo}/manifests/${tag}`, target.url),
    headers: (): Record<string, string> => {
      const auth = target.auth;
      if (auth) {
        const cached = auth.cachedHeaderFor(repo);
        if (cached) authorization = cached;
        else void auth.headerFor(repo).then((h) => (authorization = h), () => undefined);
      }
      return authorization ? { Accept: OCI_MANIFEST, Authorization: authorization } : { Accept: OCI_MANIFEST };
    },
    connections: opts.connections,
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    histogram: merged,
    check: (res) => {
      if (res.status !== 200) return `HTTP ${res.status}`;
      if (sha256(res.body) !== digest) return 'body does not hash to the manifest digest';
      if (header(res, 'docker-content-digest') !== digest) return 'wrong Docker-Content-Digest';
      return undefined;
    },
    onWindowStart: () => {
      cpu0 = cpuSecondsOf(target.pid);
      client0 = process.cpuUsage();
      wall0 = performance.now();
    },
    onWindowEnd: () => {
      cpu1 = cpuSecondsOf(target.pid);
      client1 = process.cpuUsage(client0);
      wall1 = performance.now();
    },
  });
  return {
    ...result,
    serverCpuUsPerRequest: ((cpu1 - cpu0) * 1e6) / Math.max(1, result.requests),
    clientCpuPercent: ((client1.user + client1.system) / 1000 / Math.max(1, wall1 - wall0)) * 100,
  };
}
