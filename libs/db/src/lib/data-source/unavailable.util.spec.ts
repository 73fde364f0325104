import { DatabaseUnavailableError } from './ping-database';
import { isDatabaseUnavailable, isWriteConflict, retryOnWriteConflict } from './unavailable.util';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a pool wait that timed out', new Error('timeout exceeded when trying to connect')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'a server shutting down (57P01) inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: { code: '57P01' } }),
    ],
    ['too many connections', Object.assign(new Error('sorry'), { code: '53300' })],
    [
      'a full disk (53100) inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: { code: '53100', message: 'could not extend file' } }),
    ],
    ['out of memory (53200)', { code: '53200', message: 'out of memory' }],
    ['an I/O error (58030)', { code: '58030', message: 'could not read block' }],
    ['a connection exception class 08', { code: '08006', message: 'connection failure' }],
    [
      'a terminated connection as the cause',
      new Error('wrapped', { cause: new Error('Connection terminated unexpectedly') }),
    ],
    ['our own ping error', new DatabaseUnavailableError('postgres did not answer')],
  ])('%s is unavailability', (_label, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    [
      'a check violation inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: { code: '23514' } }),
    ],
    ['a syntax error', Object.assign(new Error('syntax'), { code: '42601' })],
    ['a missing file (58P01: a bug or a broken install, not a passing state)', { code: '58P01', message: 'could not open file' }],
    ['a foreign key violation (23503: "53" is not its class)', { code: '23503', message: 'violates foreign key constraint' }],
    ['a plain bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('%s is not', (_label, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('stops on a cyclic cause chain', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    a.cause = a;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('retryOnWriteConflict', () => {
  const deadlock = (): Error => Object.assign(new Error('query failed'), { driverError: { code: '40P01' } });

  it('tells lost races from other errors', () => {
    expect(isWriteConflict(deadlock())).toBe(true);
    expect(isWriteConflict(Object.assign(new Error('fk'), { code: '23503' }))).toBe(true);
    expect(isWriteConflict(Object.assign(new Error('serialization'), { code: '40001' }))).toBe(true);
    expect(isWriteConflict(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isWriteConflict(new TypeError('bug'))).toBe(false);
  });

  it('runs the work again after a lost race and returns its result', async () => {
    let calls = 0;
    const result = await retryOnWriteConflict(() => {
      calls++;
      return calls < 3 ? Promise.reject(deadlock()) : Promise.resolve('done');
    });
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('throws other errors at once, and the last conflict after the attempts', async () => {
    let calls = 0;
    const bug = new TypeError('bug');
    await expect(
      retryOnWriteConflict(() => {
        calls++;
        return Promise.reject(bug);
      }),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retryOnWriteConflict(() => {
        calls++;
        return Promise.reject(deadlock());
      }, 3),
    ).rejects.toThrow('query failed');
    expect(calls).toBe(3);
  });
});
