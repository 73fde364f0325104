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
