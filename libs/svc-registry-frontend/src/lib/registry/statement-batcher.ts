import { AsyncResource } from 'node:async_hooks';

export interface StatementBatcherOptions<I, O> {
  /** Runs of the statement (single or batched) that may be in flight before further calls wait and batch up. */
  readonly maxInFlight: number;
  /** The most calls one batched run carries. */
  readonly maxBatch: number;
  /** The statement for one call. */
  runOne(item: I): Promise<O>;
  /** The statement for several calls at once: one result per item, in the items' order. */
  runMany(items: readonly I[]): Promise<O[]>;
}

interface Waiting<I, O> {
  readonly item: I;
  resolve(result: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit for one hot statement. While fewer than `maxInFlight` runs are out, a call runs its own statement
 * at once (no added latency when the load is light). Past that, calls wait, and as each run ends the waiting ones
 * go out together in one `runMany` (up to `maxBatch`): under a burst of concurrent pushes, PostgreSQL sees a few
 * statements of many rows instead of one statement per layer, each of which wakes a backend and costs the event
 * loop a socket write and read.
 *
 * A batched run that fails is run again item by item, so that one bad call (a vanished repository, a deadlock with
 * another batch) fails alone and every other call still gets its own outcome.
 *
 * Batched runs happen in the batcher's own async context (the one it was created in), not in that of whichever call
 * happened to end a run: a statement made for many requests belongs to none of their traces.
 */
export class StatementBatcher<I, O> {
  private inFlight = 0;
  private readonly waiting: Waiting<I, O>[] = [];
  private readonly context = new AsyncResource('berth.StatementBatcher');

  constructor(private readonly options: StatementBatcherOptions<I, O>) {
    if (!(options.maxInFlight >= 1) || !(options.maxBatch >= 1)) throw new RangeError('maxInFlight and maxBatch must be at least 1');
  }

  run(item: I): Promise<O> {
    if (this.inFlight < this.options.maxInFlight && this.waiting.length === 0) {
      this.inFlight++;
      return this.settle(this.options.runOne(item));
    }
    return new Promise<O>((resolve, reject) => this.waiting.push({ item, resolve, reject }));
  }

  /** Calls waiting for a run to end (for tests and metrics). */
  get queued(): number {
    return this.waiting.length;
  }

  private settle(run: Promise<O>): Promise<O> {
    return run.finally(() => this.ended());
  }

  private ended(): void {
    this.inFlight--;
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.context.runInAsyncScope(() => void this.runBatch(batch).finally(() => this.ended()));
    }
  }

  private async runBatch(batch: Waiting<I, O>[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Waiting<I, O>];
      await this.options.runOne(only.item).then(only.resolve, only.reject);
      return;
    }
    let results: O[];
    try {
      results = await this.options.runMany(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`runMany answered ${results.length} results for ${batch.length} items`);
    } catch {
      // One call may have spoilt the statement for all: each gets its own outcome.
      await Promise.all(batch.map((w) => this.options.runOne(w.item).then(w.resolve, w.reject)));
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i] as O));
  }
}
