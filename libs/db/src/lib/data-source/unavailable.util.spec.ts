import { DatabaseUnavailableError } from './ping-database';
import { isDatabaseUnavailable } from './unavailable.util';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a pool wait that timed out', new Error('timeout exceeded when trying to connect')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'a server shutting down (57P01) inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: { code: '57P01' } }),
    ],
    ['too many connections', Object.assign(new Error('sorry'), { code: '53300' })],
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
