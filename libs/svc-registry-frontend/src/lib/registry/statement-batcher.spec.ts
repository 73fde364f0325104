import { AsyncLocalStorage } from 'node:async_hooks';
import { StatementBatcher } from './statement-batcher';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A statement whose runs the test ends by hand, recording what each run carried. */
class FakeStatement {
  readonly ones: Array<{ item: number; done: Deferred<string> }> = [];
  readonly manys: Array<{ items: readonly number[]; done: Deferred<string[]> }> = [];

  runOne = (item: number): Promise<string> => {
    const done = deferred<string>();
    this.ones.push({ item, done });
    return done.promise;
  };

  runMany = (items: readonly number[]): Promise<string[]> => {
    const done = deferred<string[]>();
    this.manys.push({ items, done });
    return done.promise;
  };
}

describe(StatementBatcher.name, () => {
  it('runs each call on its own while fewer runs than maxInFlight are out', async () => {
    const stmt = new FakeStatement();
    const batcher = new StatementBatcher({ maxInFlight: 2, maxBatch: 10, runOne: stmt.runOne, runMany: stmt.runMany });

    const a = batcher.run(1);
    const b = batcher.run(2);
    expect(stmt.ones.map((o) => o.item)).toEqual([1, 2]);
    stmt.ones[0]?.done.resolve('one');
    await expect(a).resolves.toBe('one');
    const c = batcher.run(3);
    expect(stmt.ones.map((o) => o.item)).toEqual([1, 2, 3]);
    stmt.ones[1]?.done.resolve('two');
    stmt.ones[2]?.done.resolve('three');
    await expect(Promise.all([b, c])).resolves.toEqual(['two', 'three']);
    expect(stmt.manys).toHaveLength(0);
  });

  it('sends the calls that waited while runs were out in one batch, each getting its own result', async () => {
    const stmt = new FakeStatement();
    const batcher = new StatementBatcher({ maxInFlight: 1, maxBatch: 10, runOne: stmt.runOne, runMany: stmt.runMany });

    const first = batcher.run(1);
    const waiting = [batcher.run(2), batcher.run(3), batcher.run(4)];
    expect(batcher.queued).toBe(3);
    expect(stmt.manys).toHaveLength(0);

    stmt.ones[0]?.done.resolve('r1');
    await flush();
    expect(stmt.manys.map((m) => m.items)).toEqual([[2, 3, 4]]);
    expect(batcher.queued).toBe(0);
    stmt.manys[0]?.done.resolve(['r2', 'r3', 'r4']);
    await expect(Promise.all([first, ...waiting])).resolves.toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('keeps calls waiting behind a batch in flight and never carries more than maxBatch in one run', async () => {
    const stmt = new FakeStatement();
    const batcher = new StatementBatcher({ maxInFlight: 1, maxBatch: 2, runOne: stmt.runOne, runMany: stmt.runMany });

    const all = [1, 2, 3, 4, 5, 6].map((n) => batcher.run(n));
    stmt.ones[0]?.done.resolve('r1');
    await flush();
    expect(stmt.manys.map((m) => m.items)).toEqual([[2, 3]]);
    stmt.manys[0]?.done.resolve(['r2', 'r3']);
    await flush();
    expect(stmt.manys.map((m) => m.items)).toEqual([
      [2, 3],
      [4, 5],
    ]);
    stmt.manys[1]?.done.resolve(['r4', 'r5']);
    await flush();
    // The last one alone runs the single statement.
    expect(stmt.ones.map((o) => o.item)).toEqual([1, 6]);
    stmt.ones[1]?.done.resolve('r6');
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it('runs a failed batch again item by item, so that only the call at fault fails', async () => {
    const runMany = jest.fn(async () => {
      throw new Error('violates foreign key constraint');
    });
    const runOne = jest.fn(async (n: number) => {
      await flush();
      if (n === 3) throw new Error(`item ${n} is bad`);
      return `r${n}`;
    });
    const batcher = new StatementBatcher({ maxInFlight: 1, maxBatch: 10, runOne, runMany });

    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.run(n)));

    expect(runMany).toHaveBeenCalledWith([2, 3, 4]);
    expect(runOne.mock.calls.map(([n]) => n)).toEqual([1, 2, 3, 4]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'r1' },
      { status: 'fulfilled', value: 'r2' },
      { status: 'rejected', reason: new Error('item 3 is bad') },
      { status: 'fulfilled', value: 'r4' },
    ]);
  });

  it('treats a batch answering the wrong number of results as failed', async () => {
    const runOne = jest.fn(async (n: number) => {
      await flush();
      return `r${n}`;
    });
    const batcher = new StatementBatcher({ maxInFlight: 1, maxBatch: 10, runOne, runMany: async () => ['only one'] });

    await expect(Promise.all([1, 2, 3].map((n) => batcher.run(n)))).resolves.toEqual(['r1', 'r2', 'r3']);
  });

  it('goes on after a failed single run, with its slot free again', async () => {
    const stmt = new FakeStatement();
    const batcher = new StatementBatcher({ maxInFlight: 1, maxBatch: 10, runOne: stmt.runOne, runMany: stmt.runMany });

    const failing = batcher.run(1);
    stmt.ones[0]?.done.reject(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    const next = batcher.run(2);
    expect(stmt.ones.map((o) => o.item)).toEqual([1, 2]);
    stmt.ones[1]?.done.resolve('r2');
    await expect(next).resolves.toBe('r2');
  });

  it("runs a batch in the batcher's own async context, not in that of the call that ended the previous run", async () => {
    const als = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const stmt = new FakeStatement();
    const batcher = als.run('creator', () =>
      new StatementBatcher<number, string>({
        maxInFlight: 1,
        maxBatch: 10,
        runOne: (n) => {
          seen.push(als.getStore());
          return stmt.runOne(n);
        },
        runMany: (items) => {
          seen.push(als.getStore());
          return stmt.runMany(items);
        },
      }),
    );

    const first = als.run('request-1', () => batcher.run(1));
    const waiting = [als.run('request-2', () => batcher.run(2)), als.run('request-3', () => batcher.run(3))];
    als.run('request-1', () => stmt.ones[0]?.done.resolve('r1'));
    await flush();
    stmt.manys[0]?.done.resolve(['r2', 'r3']);
    await Promise.all([first, ...waiting]);

    expect(seen).toEqual(['request-1', 'creator']);
  });

  it('refuses limits below one', () => {
    const stmt = new FakeStatement();
    expect(() => new StatementBatcher({ maxInFlight: 0, maxBatch: 1, runOne: stmt.runOne, runMany: stmt.runMany })).toThrow(RangeError);
    expect(() => new StatementBatcher({ maxInFlight: 1, maxBatch: 0, runOne: stmt.runOne, runMany: stmt.runMany })).toThrow(RangeError);
  });
});
