import type { DataSource } from 'typeorm';
import { DatabaseUnavailableError, initializeDataSource, pingDatabase } from './ping-database';

function fakeDataSource(query: () => Promise<unknown>, initialized = true): DataSource {
  return { isInitialized: initialized, query } as unknown as DataSource;
}

describe('pingDatabase', () => {
  it('should resolve when SELECT 1 answers', async () => {
    const queries: unknown[] = [];
    await pingDatabase(
      fakeDataSource(() => {
        queries.push('SELECT 1');
        return Promise.resolve([{ '?column?': 1 }]);
      }),
    );
    expect(queries).toEqual(['SELECT 1']);
  });

  it('should reject within its bound, naming postgres, when the query never settles', async () => {
    const started = Date.now();
    await expect(
      pingDatabase(
        fakeDataSource(() => new Promise(() => undefined)),
        100,
      ),
    ).rejects.toThrow(new DatabaseUnavailableError('postgres did not answer within 100 ms'));
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('should wrap a failing query into a one-line reason', async () => {
    const failure = new Error('connect ECONNREFUSED 127.0.0.1:5432\n    at stack');
    const error = await pingDatabase(fakeDataSource(() => Promise.reject(failure))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toBe('postgres is unavailable: connect ECONNREFUSED 127.0.0.1:5432');
    expect((error as Error).cause).toBe(failure);
    expect((error as Error).name).toBe('DatabaseUnavailableError');
  });
});

describe('initializeDataSource', () => {
  function flaky(failures: unknown[]): DataSource & { attempts: number } {
    const ds = {
      isInitialized: false,
      attempts: 0,
      initialize() {
        ds.attempts++;
        const failure = failures.shift();
        if (failure) return Promise.reject(failure);
        ds.isInitialized = true;
        return Promise.resolve(ds);
      },
    };
    return ds as unknown as DataSource & { attempts: number };
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('should retry while the server refuses connections, then connect', async () => {
    const ds = flaky([refused, refused]);
    const retries: number[] = [];
    await initializeDataSource(ds, { timeoutMs: 5_000, retryDelayMs: 1, onRetry: (_e, n) => retries.push(n) });
    expect(ds.isInitialized).toBe(true);
    expect(ds.attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('should not retry errors that waiting cannot fix', async () => {
    const auth = Object.assign(new Error('password authentication failed for user "berth"'), { code: '28P01' });
    const ds = flaky([auth]);
    await expect(initializeDataSource(ds, { timeoutMs: 5_000, retryDelayMs: 1 })).rejects.toThrow(
      'postgres is unavailable: password authentication failed for user "berth"',
    );
    expect(ds.attempts).toBe(1);
  });

  it('should give up at its deadline', async () => {
    const ds = flaky(Array.from({ length: 1000 }, () => refused));
    await expect(initializeDataSource(ds, { timeoutMs: 50, retryDelayMs: 10 })).rejects.toThrow(
      DatabaseUnavailableError,
    );
    expect(ds.isInitialized).toBe(false);
  });
});
