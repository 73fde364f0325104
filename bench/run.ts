/**
 * Berth against CNCF Distribution v3, filesystem and S3 (MinIO), in one run on this machine. Not a test: a
 * command that writes docs/performance.md. See bench/README.md.
 *
 *   npm run bench -- [--quick] [--ref <git-ref>] [--out <file>] [--json <file>]
 *        [--only <ids>] [--berth-log-level <level>] [--cpu-prof <dir>] [--keep] [--render <json>]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeBlob, GIB, MIB, type BlobSpec } from './lib/data';
import { keepAliveAgent } from './lib/http';
import { loadAverage, machineFacts } from './lib/proc';
import { REPO_ROOT, sourceTree } from './lib/processes';
import { mergeIntoDocument, renderMarkdown, verdicts, type Params, type RunReport, type TargetResults } from './lib/report';
import { distributionBinary, distributionVersion, minioDataDir, removeBuckets, s3Client, startStack, versionOf } from './lib/stack';
import { startBerthFs, startBerthS3, startDistributionFs, startDistributionS3, type Target, type TargetId, type TargetOptions } from './lib/targets';
import { Histogram } from './lib/histogram';
import {
  flushDisks,
  manifestLoad,
  median,
  pullUrls,
  pushImage,
  pushLarge,
  pushMany,
  settleMemory,
  summarizeManifest,
  summarizeMany,
  summarizePush,
  timedPull,
  verifyBlobs,
  type ManifestResult,
  type ManyResult,
  type PullMode,
  type PushResult,
} from './lib/workloads';

const ORDER: TargetId[] = ['distribution-fs', 'berth-fs', 'distribution-s3', 'berth-s3'];

interface Args {
  quick: boolean;
  out: string | undefined;
  json: string | undefined;
  only: TargetId[];
  berthLogLevel: string;
  cpuProf: string | undefined;
  keep: boolean;
  ref: string | undefined;
  render: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, out: undefined, json: undefined, only: ORDER, berthLogLevel: 'warn', cpuProf: undefined, keep: false, ref: undefined, render: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--out') args.out = value();
    else if (a === '--json') args.json = value();
    else if (a === '--keep') args.keep = true;
    else if (a === '--ref') args.ref = value();
    else if (a === '--render') args.render = value();
    else if (a === '--berth-log-level') args.berthLogLevel = value();
    else if (a === '--cpu-prof') args.cpuProf = path.resolve(value());
    else if (a === '--only') {
      const ids = value().split(',') as TargetId[];
      for (const id of ids) if (!ORDER.includes(id)) throw new Error(`--only: unknown target ${id} (${ORDER.join(', ')})`);
      args.only = ORDER.filter((id) => ids.includes(id));
    } else if (a === '--help' || a === '-h') {
      console.log(readFileSync(path.join(__dirname, 'README.md'), 'utf8'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see bench/README.md)`);
  }
  // The full run writes the document; a quick run only when asked to (it is a smoke test, not the benchmark).
  if ((args.render !== undefined || !args.quick) && args.out === undefined && args.only.length === ORDER.length) args.out = path.join(REPO_ROOT, 'docs/performance.md');
  return args;
}

/**
 * The registries of one push round: ORDER in rounds 1, 3, ... (`round` 0, 2, ...), reversed in the others (Distribution fs, Berth fs,
 * Distribution S3, Berth S3, then Berth S3, Distribution S3, Berth fs, Distribution fs). Berth and Distribution on the
 * same storage always run back to back, which goes first alternates, and so does the storage: the push targets
 * are judged by each round's Berth ÷ Distribution ratio (see `verdicts`), so the two of a pair must see the same
 * machine, and neither may always get what the other left behind (the page cache, MinIO's background work).
 */
function pairedOrder<T>(xs: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...xs] : [...xs].reverse();
}

/**
 * Refuses to start when the disks cannot hold what the registries will write: per storage, two registries × (the
 * large pushes, the small warm-up pushes and every burst of layers), about 17 GiB in a full run, on the filesystem
 * under `workDir` (a fifth more for the databases and logs) and in MinIO under `minioDir` (together when they share a
 * device). MinIO needs about two and a half times what it stores: the multipart uploads it stages and the objects
 * that were replaced or deleted wait in `.minio.sys/tmp` until it purges them, minutes later (measured: 13 GiB of
 * buckets and 30-32 GiB there at once). Running out half-way fails workloads (the registries answer 5xx) instead of
 * measuring.
 */
function checkFreeSpace(p: Params, workDir: string, minioDir: string): void {
  const layers = ((p.manyRounds ?? p.pushRounds) + (p.warmBursts ?? 1) + 1) * p.layers * p.layerBytes;
  const perStorage = 2 * (2 * p.pushRounds * p.bigBytes + 2 * 2 * p.chunkBytes + layers);
  const needs = new Map<number, { dir: string; bytes: number }>();
  for (const [wanted, factor] of [
    [workDir, 1.2],
    [minioDir, 2.6],
  ] as const) {
    // MinIO's folder may not exist yet (a stack started for the first time): its parent's filesystem then.
    const dir = existsSync(wanted) ? wanted : path.dirname(wanted);
    const dev = statSync(dir).dev;
    const entry = needs.get(dev) ?? { dir, bytes: 0 };
    entry.bytes += perStorage * factor;
    needs.set(dev, entry);
  }
  const gib = (n: number): string => (n / GIB).toFixed(1);
  for (const { dir, bytes } of needs.values()) {
    const fsStats = statfsSync(dir);
    const free = fsStats.bavail * fsStats.bsize;
    if (free < bytes) {
      throw new Error(
        `bench: the registries need about ${gib(bytes)} GiB on the filesystem of ${dir} (what they write, plus MinIO's staging), which has ${gib(free)} GiB free. ` +
          'Free some space (MinIO keeps deleted objects in .minio.sys/tmp for a while) or use --quick.',
      );
    }
  }
}

function paramsFor(args: Args): Params {
  return args.quick
    ? {
        quick: true,
        bigBytes: 64 * MIB,
        chunkBytes: 8 * MIB,
        layers: 20,
        layerBytes: MIB,
        connections: 64,
        warmupMs: 1000,
        durationMs: 5000,
        pullRuns: 1,
        pushRounds: 1,
        manyRounds: 1,
        warmBursts: 1,
        manifestRounds: 1,
        berthLogLevel: args.berthLogLevel,
      }
    : {
        quick: false,
        bigBytes: GIB,
        chunkBytes: 32 * MIB,
        layers: 200,
        layerBytes: MIB,
        connections: 64,
        warmupMs: 2000,
        durationMs: 10_000,
        pullRuns: 7,
        pushRounds: 3,
        manyRounds: 5,
        warmBursts: 6,
        manifestRounds: 3,
        berthLogLevel: args.berthLogLevel,
      };
}

/**
 * The pulls of one round: every plan in `plans`' order, except that Berth's direct MinIO GET runs right next to Berth's
 * redirected download (they are the redirect target's pair), after it in even rounds and before it in odd ones, so that
 * neither always meets MinIO as the other left it.
 */
function pullOrder<P extends { t: { id: TargetId }; mode: string }>(plans: readonly P[], round: number): P[] {
  const isBerth = (mode: string) => (p: P): boolean => p.t.id === 'berth-s3' && p.mode === mode;
  const direct = plans.find(isBerth('direct'));
  const rest = plans.filter((p) => p !== direct);
  const at = rest.findIndex(isBerth('redirect'));
  if (!direct || at < 0) return [...plans];
  rest.splice(round % 2 === 0 ? at + 1 : at, 0, direct);
  return rest;
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[${t}] ${message}`);
}

/** Writes the report of a finished run again (after a change of the report's layout), measuring nothing. */
function writeReport(report: RunReport, args: Args): void {
  const markdown = renderMarkdown(report);
  console.log(`\n${markdown}\n`);
  if (args.out) {
    const existing = existsSync(args.out) ? readFileSync(args.out, 'utf8') : undefined;
    writeFileSync(args.out, mergeIntoDocument(existing, markdown));
    log(`wrote ${args.out}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    writeReport(JSON.parse(readFileSync(args.render, 'utf8')) as RunReport, args);
    return;
  }
  const params = paramsFor(args);
  const started = Date.now();
  // Every loop is bounded on its own; this is the backstop for a registry that stops answering altogether.
  const deadlineMs = (args.quick ? 25 : 120) * 60_000;

  const machine = machineFacts();
  const report: RunReport = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    params,
    machine,
    loadStart: loadAverage(),
    loadEnd: '',
    loadDuring: [],
    versions: {},
    results: {},
    seconds: 0,
  };
  console.log(
    `Berth bench${args.quick ? ' (--quick: smoke sizes)' : ''}: ${machine.nproc} CPUs, ${machine.memGiB.toFixed(1)} GiB, load average ${report.loadStart}`,
  );
  console.log('NOTE: this machine is shared (other builds and tests run on the same cores): the numbers are noisy; compare ratios, not absolutes.');

  log('local stack (postgres, redis, kafka, minio) and CNCF Distribution');
  const settings = startStack();
  const distBinary = distributionBinary();
  report.versions['node'] = process.version;
  report.versions['distribution'] = distributionVersion();
  report.versions['minio'] = 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c (deploy/local/stack.sh)';
  report.versions['postgres'] = versionOf('psql', ['--version']).replace(/^psql \(PostgreSQL\) /, '');
  report.versions['redis'] = versionOf('redis-server', ['--version']).replace(/ sha=.*$/, '');

  checkFreeSpace(params, tmpdir(), minioDataDir());
  const workDir = await mkdtemp(path.join(tmpdir(), 'berth-bench-'));
  const source = await sourceTree(args.ref, workDir);
  report.versions['berth'] = source.describe;
  log(`Berth from ${source.describe}`);
  const runId = randomBytes(3).toString('hex');
  const bucketPrefix = `bench-${runId}-`;
  const s3 = s3Client(settings);
  const targets: Target[] = [];
  // When each workload ran against each registry, on the monotonic clock V8's CPU profiles use.
  const phases: Array<{ target: TargetId; pid: number; phase: string; startUs: number; endUs: number }> = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    log('stopping registries and removing their data');
    await Promise.allSettled(targets.map((t) => t.stop()));
    if (!args.keep) {
      await removeBuckets(s3, bucketPrefix).catch((e: unknown) => console.error(`could not remove buckets ${bucketPrefix}*: ${String(e)}`));
      await rm(workDir, { recursive: true, force: true });
    }
  };
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${deadlineMs / 60_000} min; giving up`);
    void cleanup().finally(() => process.exit(2));
  }, deadlineMs);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    const opts: TargetOptions = {
      root: source.root,
      workDir,
      berthLogLevel: args.berthLogLevel,
      berthNodeArgs: args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`] : [],
    };
    for (const id of args.only) {
      log(`starting ${id}`);
      if (id === 'distribution-fs') targets.push(await startDistributionFs(distBinary, opts));
      else if (id === 'berth-fs') targets.push(await startBerthFs(opts));
      else if (id === 'distribution-s3') {
        const bucket = `${bucketPrefix}distribution`;
        await s3.makeBucket(bucket, settings['BERTH_S3_REGION'] ?? 'us-east-1');
        targets.push(await startDistributionS3(distBinary, opts, settings, bucket));
      } else targets.push(await startBerthS3(opts, settings, bucketPrefix));
      const t = targets[targets.length - 1] as Target;
      report.results[t.id] = { id: t.id, setup: t.setup, pulls: {}, failures: [] };
    }
    const result = (t: Target): TargetResults => report.results[t.id] as TargetResults;
    const attempt = async (t: Target, what: string, work: () => Promise<void>): Promise<void> => {
      const startUs = monotonicUs();
      try {
        await work();
        phases.push({ target: t.id, pid: t.pid, phase: what, startUs, endUs: monotonicUs() });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        console.error(`  ${t.id}: ${what} FAILED: ${message}\n${t.logs().slice(-2000)}`);
        result(t).failures.push(`${what}: ${message.split('\n')[0]?.slice(0, 300)}`);
      }
    };
    const during = (): void => {
      report.loadDuring.push(loadAverage().split(' ')[0] ?? '?');
    };

    // Emptying the page cache before every timed push needs root; say in the report whether it happened.
    report.pageCacheDropped = settleMemory();
    const R = params.pushRounds;
    log(`generating test data: ${2 * R} blobs of ${params.bigBytes / MIB} MiB and ${params.manyRounds ?? R} × ${params.layers} of ${params.layerBytes / MIB} MiB (digests by streaming SHA-256)`);
    // A new blob every round (the same ones for every registry): a second push of the same digest is a no-op.
    const monos = Array.from({ length: R }, (_, r) => describeBlob(10 + r, params.bigBytes));
    const chunkeds = Array.from({ length: R }, (_, r) => describeBlob(20 + r, params.bigBytes));
    const M = params.manyRounds ?? R;
    const layerSets = Array.from({ length: M }, (_, r) => Array.from({ length: params.layers }, (_, i) => describeBlob(1000 * (r + 1) + i, params.layerBytes)));
    const mono = monos[0] as BlobSpec;

    // 0. Warm-up (untimed): one monolithic and one chunked push of a two-chunk blob, and one burst as large as the
    //    timed ones, so that the measured pushes see a registry that has been at work (connections open, code
    //    compiled) rather than its first requests. The concurrent rounds get bursts of their own right before them (2.).
    const warmLayers = params.layers;
    const bursts = params.warmBursts ?? 1;
    log(`warm-up: one small monolithic and one chunked push, and one burst of ${warmLayers} concurrent layers, per registry (untimed)`);
    const warm = [describeBlob(3, 2 * params.chunkBytes), describeBlob(4, 2 * params.chunkBytes)] as const;
    const warmBurst = (b: number): BlobSpec[] =>
      Array.from({ length: warmLayers }, (_, i) => describeBlob(900_000 + 1000 * b + i, params.layerBytes));
    for (const t of targets) {
      await attempt(t, 'warm-up', async () => {
        await pushLarge(t, 'bench/warmup', warm[0], 'monolithic', params.chunkBytes);
        await pushLarge(t, 'bench/warmup', warm[1], 'chunked', params.chunkBytes);
        await pushMany(t, 'bench/warmup', warmBurst(0));
      });
    }

    // 1. One large blob, monolithic, then chunked; R rounds, each round every registry in turn (pairedOrder).
    for (const mode of ['monolithic', 'chunked'] as const) {
      const rounds = new Map<TargetId, PushResult[]>();
      for (let round = 0; round < R; round++) {
        during();
        const blob = (mode === 'monolithic' ? monos : chunkeds)[round] as BlobSpec;
        for (const t of pairedOrder(targets, round)) {
          await attempt(t, `push ${mode}`, async () => {
            const r = await pushLarge(t, 'bench/large', blob, mode, params.chunkBytes);
            rounds.set(t.id, [...(rounds.get(t.id) ?? []), r]);
            log(
              `${t.id.padEnd(16)} push ${mode.padEnd(10)} ${r.mibps.toFixed(1).padStart(7)} MiB/s  ${r.seconds.toFixed(2)} s  ` +
                `RSS +${r.memory.growthMiB.toFixed(1)} MiB  CPU ${r.cpuSeconds.toFixed(2)} s  (round ${round + 1})`,
            );
          });
        }
      }
      for (const t of targets) {
        const list = rounds.get(t.id);
        if (list?.length !== R) continue; // a failed round is reported as a failure, not averaged away
        if (mode === 'monolithic') result(t).pushMonolithic = summarizePush(list);
        else result(t).pushChunked = summarizePush(list);
      }
    }
    log('verifying the large blobs (HEAD, full download, SHA-256)');
    for (const t of targets) await attempt(t, 'verify large blobs', () => verifyBlobs(t, 'bench/large', [...monos, ...chunkeds], 2));

    // 2. Many small layers at once. First, untimed, bursts as large as the timed ones (new blobs each) into every
    //    registry, as the manifest GET rounds get their warm-up right before them: a JIT-compiled registry's request
    //    path takes several bursts to reach its steady state, and the 1 GiB pushes in between leave it partly cold
    //    again. Then M timed rounds (short ones: more of them than of the 1 GiB pushes, so that one round disturbed by
    //    the machine's other work moves the median less).
    log(`warm-up of the concurrent pushes: ${bursts} × ${warmLayers} layers per registry (untimed)`);
    for (const t of targets) {
      await attempt(t, 'warm-up bursts', async () => {
        const rates: string[] = [];
        for (let b = 1; b <= bursts; b++) rates.push((await pushMany(t, 'bench/warmup', warmBurst(b))).layersPerSecond.toFixed(1));
        log(`${t.id.padEnd(16)} warm-up bursts ${rates.join(', ')} layers/s`);
      });
    }
    const manyRounds = new Map<TargetId, ManyResult[]>();
    const manyLatency = new Map<TargetId, Histogram>(targets.map((t) => [t.id, new Histogram()]));
    for (let round = 0; round < M; round++) {
      during();
      for (const t of pairedOrder(targets, round)) {
        await attempt(t, `${params.layers} concurrent pushes`, async () => {
          const r = await pushMany(t, 'bench/layers', layerSets[round] as BlobSpec[], manyLatency.get(t.id));
          manyRounds.set(t.id, [...(manyRounds.get(t.id) ?? []), r]);
          log(
            `${t.id.padEnd(16)} ${params.layers} × 1 MiB    ${r.layersPerSecond.toFixed(1).padStart(7)} layers/s  ${r.seconds.toFixed(2)} s  ` +
              `p50 ${r.latency.p50.toFixed(0)} ms  p99 ${r.latency.p99.toFixed(0)} ms  (round ${round + 1})`,
          );
        });
      }
    }
    for (const t of targets) {
      const list = manyRounds.get(t.id);
      if (list?.length === M) result(t).many = summarizeMany(list, manyLatency.get(t.id) as Histogram);
    }
    log('verifying the layers (HEAD, full download, SHA-256)');
    for (const t of targets) await attempt(t, 'verify layers', () => verifyBlobs(t, 'bench/layers', layerSets.flat(), 16));

    // 3. Pulls of the first monolithic blob: every registry and mode, interleaved.
    flushDisks();
    during();
    const plans: Array<{ t: Target; mode: PullMode; url: URL }> = [];
    const pullRepo = 'bench/large';
    for (const t of targets) {
      await attempt(t, 'pull set-up', async () => {
        for (const [mode, url] of Object.entries(await pullUrls(t, 'bench/large', mono))) plans.push({ t, mode: mode as PullMode, url });
      });
    }
    // Distribution's redirect target is not a second baseline: the direct GET of Berth's object is the one.
    const timed = plans.filter((p) => !(p.t.registry === 'distribution' && p.mode === 'direct'));
    const pullAgent = keepAliveAgent(4);
    // The direct MinIO GET is a presigned URL: no registry credentials.
    const pullAuthorization = async (p: (typeof plans)[number]): Promise<string | undefined> =>
      p.mode !== 'direct' && p.t.auth ? await p.t.auth.headerFor(pullRepo) : undefined;
    try {
      // One untimed download of every plan first: the page cache was emptied before the pushes, and otherwise whichever
      // mode reads an object first in round 1 reads it from disk (the redirect, then the direct GET of the same object).
      for (const p of timed) {
        await attempt(p.t, 'pull warm-up', async () => {
          await timedPull(p.url, mono, pullAgent, await pullAuthorization(p));
        });
      }
      for (let round = 0; round < params.pullRuns; round++) {
        for (const p of pullOrder(timed, round)) {
          await attempt(p.t, `pull ${p.mode}`, async () => {
            const r = await timedPull(p.url, mono, pullAgent, await pullAuthorization(p));
            const expectRedirect = p.mode === 'redirect';
            if (r.redirected !== expectRedirect) throw new Error(`pull ${p.mode}: ${r.redirected ? 'was' : 'was not'} redirected`);
            const prev = result(p.t).pulls[p.mode];
            const runs = [...(prev?.runs ?? []), r.mibps];
            result(p.t).pulls[p.mode] = { mode: p.mode, runs, medianMibps: median(runs), servedBy: r.servedBy };
            log(`${p.t.id.padEnd(16)} pull ${p.mode.padEnd(9)} ${r.mibps.toFixed(0).padStart(7)} MiB/s  (round ${round + 1}, from ${r.servedBy})`);
          });
        }
      }
    } finally {
      pullAgent.destroy();
    }

    // 4. Manifest GET by tag under load; rounds interleaved across registries, all rounds counted together.
    const images = new Map<TargetId, string>();
    for (const t of targets) {
      await attempt(t, 'manifest push', async () => {
        images.set(t.id, (await pushImage(t, 'bench/manifest', 'bench')).digest);
      });
    }
    const manifestRounds = new Map<TargetId, ManifestResult[]>();
    const manifestLatency = new Map<TargetId, Histogram>(targets.map((t) => [t.id, new Histogram()]));
    for (let round = 0; round < params.manifestRounds; round++) {
      during();
      for (const t of targets) {
        const digest = images.get(t.id);
        if (digest === undefined) continue;
        await attempt(t, 'manifest GET', async () => {
          const r = await manifestLoad(t, 'bench/manifest', 'bench', digest, params, manifestLatency.get(t.id));
          manifestRounds.set(t.id, [...(manifestRounds.get(t.id) ?? []), r]);
          log(
            `${t.id.padEnd(16)} manifest GET ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.latency.p50.toFixed(2)} ms  p99 ${r.latency.p99.toFixed(2)} ms  ` +
              `${r.errors} errors  ${r.connectionsOpened} connections  server CPU ${r.serverCpuUsPerRequest.toFixed(0)} µs/req  ` +
              `client CPU ${r.clientCpuPercent.toFixed(0)} %  (round ${round + 1})`,
          );
        });
      }
    }
    for (const t of targets) {
      const list = manifestRounds.get(t.id);
      if (list?.length !== params.manifestRounds) continue;
      const r = summarizeManifest(list, manifestLatency.get(t.id) as Histogram);
      result(t).manifest = r;
      if (r.errors > 0) result(t).failures.push(`manifest GET: ${r.errors} wrong or failed answers (first: ${r.firstError})`);
    }
    during();
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }

  report.loadEnd = loadAverage();
  report.seconds = (Date.now() - started) / 1000;
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  if (args.cpuProf) {
    writeFileSync(path.join(args.cpuProf, 'phases.json'), JSON.stringify(phases, null, 1));
    log(`CPU profiles and phases.json in ${args.cpuProf}: node -r ./scripts/register.cjs bench/cpuprofile.ts <profile> --phases ${path.join(args.cpuProf, 'phases.json')} --phase <name>`);
  }
  writeReport(report, args);
  const failures = Object.values(report.results).flatMap((r) => r?.failures.map((f) => `${r.id}: ${f}`) ?? []);
  for (const v of verdicts(report)) console.log(`${v.met === undefined ? 'not measured' : v.met ? 'met    ' : 'NOT MET'}  ${v.goal}: ${v.measured}`);
  console.log(`load average now ${report.loadEnd} (numbers are noisy on this shared machine)`);
  if (failures.length) {
    console.error(`\n${failures.length} workload(s) failed:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
