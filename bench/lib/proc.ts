import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** VmRSS and VmHWM of a process in KiB, from /proc/<pid>/status; undefined when it is gone. */
export function memoryOf(pid: number): { rssKiB: number; hwmKiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Resets the process's VmHWM to its current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0; needs
 * the right to write there, which the owner of the process has). False when that is not possible.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU seconds the process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 (utime) and 15 (stime) counted from 1 are at 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

export interface MemoryWatch {
  /** Stops sampling: RSS at the start, the highest RSS seen (sampled and VmHWM), and their difference, in MiB. */
  stop(): { baseMiB: number; peakMiB: number; growthMiB: number; samples: number; hwmReset: boolean };
}

/**
 * Samples VmRSS every `intervalMs` and reads VmHWM at the end (after resetting it at the start when allowed),
 * so a peak between two samples is still seen.
 */
export function watchMemory(pid: number, intervalMs = 20): MemoryWatch {
  const hwmReset = resetPeak(pid);
  const base = memoryOf(pid)?.rssKiB ?? Number.NaN;
  let peak = base;
  let samples = 1;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (!m) return;
    samples++;
    if (m.rssKiB > peak) peak = m.rssKiB;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const m = memoryOf(pid);
      if (m) {
        peak = Math.max(peak, m.rssKiB);
        if (hwmReset) peak = Math.max(peak, m.hwmKiB);
      }
      return { baseMiB: base / 1024, peakMiB: peak / 1024, growthMiB: (peak - base) / 1024, samples, hwmReset };
    },
  };
}

export function machineFacts(): { nproc: number; cpuModel: string; memGiB: number; kernel: string } {
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = 'unknown';
  }
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: totalmem() / 1024 ** 3,
    kernel,
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

/** Busy and total jiffies of all CPUs so far (the first line of /proc/stat; idle and iowait count as not busy). */
function cpuJiffies(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export interface QuietWait {
  /** Seconds waited. */
  readonly waitedSeconds: number;
  /** Busy share of all CPUs (0–1) in the last window looked at. */
  readonly busy: number;
  /** Whether the machine got quiet before `maxMs`. */
  readonly quiet: boolean;
}

/**
 * Waits until the whole machine's CPU is quiet: busy less than `busyBelow` (a share of all CPUs) over a window of
 * `windowMs`, so that work left behind by the previous workload (MinIO's background tasks after an S3 push, the
 * kernel's write-back, a registry's own clean-up) does not run inside the next timed window. Gives up after
 * `maxMs` and says so (a machine that is never quiet is reported, not waited on forever).
 */
export async function waitForQuiet(options: { busyBelow?: number; windowMs?: number; maxMs?: number } = {}): Promise<QuietWait> {
  const busyBelow = options.busyBelow ?? 0.15;
  const windowMs = options.windowMs ?? 500;
  const maxMs = options.maxMs ?? 20_000;
  const t0 = performance.now();
  let busy = 1;
  for (;;) {
    const a = cpuJiffies();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const b = cpuJiffies();
    busy = b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
    const waited = performance.now() - t0;
    if (busy < busyBelow) return { waitedSeconds: waited / 1000, busy, quiet: true };
    if (waited >= maxMs) return { waitedSeconds: waited / 1000, busy, quiet: false };
  }
}
