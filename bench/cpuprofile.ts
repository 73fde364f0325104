/**
 * Summarises a V8 .cpuprofile (as written by `bench/run.ts --cpu-prof <dir>`): self time by function and by
 * package / Berth lib, and inclusive time of Berth's own functions.
 *
 *   node -r ./scripts/register.cjs bench/cpuprofile.ts <file.cpuprofile> [--top 30]
 *        [--phases <dir>/phases.json --phase <name part> [--any-pid]]
 *
 * With --phases, only the samples taken while a matching workload ran against this process are counted
 * (bench/run.ts writes phases.json next to the profiles; the profile file name carries the process id, and V8's
 * sample times and the bench's phase times are both on the monotonic clock).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: a package, a Berth lib or app, node's internals, or V8 itself. */
function ownerOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native/V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const berth = /\/(libs|apps)\/([^/]+)\//.exec(url);
  if (berth?.[2]) return `${berth[1]}/${berth[2]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*/, 'node:$1');
  return url;
}

interface Phase {
  target: string;
  pid: number;
  phase: string;
  startUs: number;
  endUs: number;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench/cpuprofile.ts <file.cpuprofile> [--top N] [--phases <phases.json> --phase <name part>]');
  const top = Number(option('--top') ?? 30);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const phasesFile = option('--phases');
  const phaseName = option('--phase') ?? '';
  let windows: Phase[] | undefined;
  if (phasesFile) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1]);
    // --any-pid: the windows of every process (e.g. a proxying frontend that is not the measured one).
    const anyPid = process.argv.includes('--any-pid');
    windows = (JSON.parse(readFileSync(phasesFile, 'utf8')) as Phase[]).filter((p) => (anyPid || p.pid === pid) && p.phase.includes(phaseName));
    if (windows.length === 0) throw new Error(`no phase matching "${phaseName}" for pid ${pid} in ${phasesFile}`);
    console.log(`phases: ${[...new Set(windows.map((w) => `${w.target} ${w.phase}`))].join(', ')} (${windows.length} windows)`);
  }
  // Keep only the samples inside the windows (sample i is taken at startTime + the sum of the first i+1 deltas).
  if (windows) {
    let t = profile.startTime;
    const samples: number[] = [];
    const deltas: number[] = [];
    profile.samples.forEach((id, i) => {
      const d = profile.timeDeltas[i] ?? 0;
      t += d;
      if (windows.some((w) => t >= w.startUs && t <= w.endUs)) {
        samples.push(id);
        deltas.push(d);
      }
    });
    profile.samples = samples;
    profile.timeDeltas = deltas;
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const inclusiveBerth = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^.*\/(node_modules|libs|apps)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
    const owner = ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + t);
    // Inclusive time of each Berth function on the stack (counted once per sample and function).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f || !/\/(libs|apps)\//.test(f.url) || /node_modules/.test(f.url)) continue;
      const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(libs|apps)\//, '$1/')}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusiveBerth.set(k, (inclusiveBerth.get(k) ?? 0) + t);
    }
  }
  const pct = (t: number): string => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
  const ms = (t: number): string => `${(t / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)`);
  console.log('\nself time by owner:');
  for (const [k, t] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${k}`);
  console.log('\nself time by function:');
  for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${k}`);
  console.log('\ninclusive time of Berth functions:');
  for (const [k, t] of [...inclusiveBerth].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t)}  ${k}`);
}

main();
