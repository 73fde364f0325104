import type { Socket } from 'node:net';
import { Histogram } from './histogram';
import { keepAliveAgent, request, type Response } from './http';

export interface LoadOptions {
  readonly url: URL;
  /** Request headers, or a function called for each request (e.g. a bearer token renewed during the run). */
  readonly headers?: Record<string, string> | (() => Record<string, string>);
  /** Fixed number of keep-alive connections, each with one request in flight at a time (closed loop). */
  readonly connections: number;
  /** Requests before the window are warm-up: sent but not counted. */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Undefined when the response is right, else what is wrong (counted as an error). */
  readonly check: (res: Response) => string | undefined;
  /** Called when the measurement window opens and closes (e.g. to read the server's CPU time). */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
  /** Records latencies here too (to merge several runs). */
  readonly histogram?: Histogram;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly rps: number;
  readonly latency: ReturnType<Histogram['summary']>;
  /** Distinct TCP connections the agent opened (equal to `connections` when keep-alive held). */
  readonly connectionsOpened: number;
  readonly seconds: number;
}

/**
 * A closed-loop HTTP load generator: `connections` workers, each sending its next request as soon as the
 * previous response body has fully arrived, on a keep-alive agent limited to exactly `connections` sockets.
 * Counted: responses completed inside the measurement window [start + warmup, start + warmup + duration];
 * req/s = counted / duration. Requests still in flight at the end are awaited (bounded by their timeout) but
 * not counted. Every loop stops by itself at the end of the window.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const agent = keepAliveAgent(opts.connections);
  const sockets = new Set<Socket>();
  const histogram = new Histogram();
  let errors = 0;
  let firstError: string | undefined;
  let counted = 0;
  const t0 = performance.now();
  const windowStart = t0 + opts.warmupMs;
  const windowEnd = windowStart + opts.durationMs;

  const worker = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      let problem: string | undefined;
      try {
        const res = await request({
          method: 'GET',
          url: opts.url,
          agent,
          headers: typeof opts.headers === 'function' ? opts.headers() : opts.headers,
          idleTimeoutMs: 30_000,
          // Emitted for every request, also on a reused socket: the set counts distinct connections.
          onSocket: (socket) => sockets.add(socket),
        });
        problem = opts.check(res);
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const done = performance.now();
      if (done < windowStart || done > windowEnd) continue;
      if (problem !== undefined) {
        errors++;
        firstError ??= problem;
        continue;
      }
      counted++;
      histogram.record(done - started);
      opts.histogram?.record(done - started);
    }
  };
  const marks = [
    { at: windowStart, fn: opts.onWindowStart, fired: false },
    { at: windowEnd, fn: opts.onWindowEnd, fired: false },
  ];
  const fire = (m: (typeof marks)[number]): void => {
    if (m.fired) return;
    m.fired = true;
    m.fn?.();
  };
  const timers = marks.map((m) => setTimeout(() => fire(m), Math.max(0, m.at - performance.now())));
  try {
    await Promise.all(Array.from({ length: opts.connections }, () => worker()));
  } finally {
    // Every worker ran past the window's end; a mark whose timer has not run yet fires now.
    for (const t of timers) clearTimeout(t);
    for (const m of marks) fire(m);
    agent.destroy();
  }
  return {
    requests: counted,
    errors,
    firstError,
    rps: counted / (opts.durationMs / 1000),
    latency: histogram.summary(),
    connectionsOpened: sockets.size,
    seconds: opts.durationMs / 1000,
  };
}
