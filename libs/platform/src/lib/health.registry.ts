import { Injectable } from '@nestjs/common';

/** A dependency check: resolves when the dependency answers, rejects (naming it) when it does not. */
export type HealthCheck = () => Promise<void>;

export interface ReadinessReport {
  ready: boolean;
  /** Per dependency: `up`, or `down: <reason>`. */
  checks: Record<string, string>;
  /** Names of the dependencies that failed, sorted. */
  failing: string[];
}

/** Longest a single dependency check may take before it counts as down. */
export const CHECK_TIMEOUT_MS = 2500;

/**
 * The dependencies this process needs to serve. Modules register what they use at start; /readyz runs
 * every check in parallel, each bounded, so a hung dependency makes the process unready, never /readyz hang.
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  /** Registers a check under a dependency name; registering the same name again keeps the first. */
  register(name: string, check: HealthCheck): void {
    if (!this.checks.has(name)) this.checks.set(name, check);
  }

  names(): string[] {
    return [...this.checks.keys()].sort();
  }

  async readiness(): Promise<ReadinessReport> {
    const entries = [...this.checks.entries()];
    const results = await Promise.all(
      entries.map(async ([name, check]) => [name, await runBounded(name, check)] as const),
    );
    const checks = Object.fromEntries(results.sort(([a], [b]) => a.localeCompare(b)));
    const failing = results.filter(([, r]) => r !== 'up').map(([n]) => n).sort();
    return { ready: failing.length === 0, checks, failing };
  }
}

async function runBounded(name: string, check: HealthCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'up';
  } catch (e) {
    return `down: ${reason(e)}`;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** A short, single-line reason; never a stack, never more than 200 characters. */
function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const line = msg.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || 'unavailable';
}
