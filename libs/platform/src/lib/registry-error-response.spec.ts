import { RegistryError } from '@berth/oci';
import { asRegistryError } from './registry-error-response';

describe('asRegistryError', () => {
  it('keeps a RegistryError as it is', () => {
    const err = new RegistryError('NAME_UNKNOWN', 'x');
    expect(asRegistryError(err)).toBe(err);
  });

  it('answers an unavailable database 503 UNAVAILABLE with Retry-After, not 500', () => {
    const poolTimeout = Object.assign(new Error('query failed'), {
      driverError: new Error('timeout exceeded when trying to connect'),
    });
    const err = asRegistryError(poolTimeout);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 503, headers: { 'Retry-After': '1' } });
    expect(err?.message).not.toContain('timeout exceeded');
  });

  it('leaves anything else to the 500 path (logged with an id)', () => {
    expect(asRegistryError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
    expect(asRegistryError(new TypeError('bug'))).toBeUndefined();
  });
});
