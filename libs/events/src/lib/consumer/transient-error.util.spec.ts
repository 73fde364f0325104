import { DatabaseUnavailableError } from '@berth/db';
import { EventBusUnavailableError } from '../errors/event-bus-unavailable.error';
import { isTransientInfrastructureError } from './transient-error.util';

function pgError(code: string, message = 'pg error'): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}

describe('isTransientInfrastructureError', () => {
  it('should match outages of Postgres and of the bus', () => {
    expect(isTransientInfrastructureError(new DatabaseUnavailableError('postgres is unavailable'))).toBe(true);
    expect(isTransientInfrastructureError(new EventBusUnavailableError('kafka: down'))).toBe(true);
    expect(isTransientInfrastructureError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientInfrastructureError(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('should match retryable SQLSTATEs: connection exceptions, shutdowns, serialization failures, deadlocks', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', '53300', '40001', '40P01', '55P03', '57014', '25P03']) {
      expect(isTransientInfrastructureError(pgError(code))).toBe(true);
    }
  });

  it('should look through the cause chain and TypeORM driverError', () => {
    const wrapped = new Error('handler failed', { cause: new Error('query failed', { cause: pgError('40001') }) });
    expect(isTransientInfrastructureError(wrapped)).toBe(true);
    const queryFailed = Object.assign(new Error('could not serialize access'), { driverError: pgError('40P01') });
    expect(isTransientInfrastructureError(queryFailed)).toBe(true);
  });

  it('should not match errors about the data or of other systems', () => {
    expect(isTransientInfrastructureError(pgError('23505', 'duplicate key'))).toBe(false);
    expect(isTransientInfrastructureError(pgError('22012', 'division by zero'))).toBe(false);
    expect(
      isTransientInfrastructureError(
        new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
      ),
    ).toBe(false);
    expect(isTransientInfrastructureError(new Error('boom'))).toBe(false);
    expect(isTransientInfrastructureError('a string')).toBe(false);
    expect(isTransientInfrastructureError(undefined)).toBe(false);
  });
});
