import { AuthError, ScopeInvalidError } from '@berth/auth';
import { RegistryError } from '@berth/oci';
import { RequestInputError } from '../http/request-input.util';
import { registryTokenError } from './registry-token.errors';

describe(registryTokenError.name, () => {
  const asRegistry = (e: unknown) => {
    expect(e).toBeInstanceOf(RegistryError);
    const r = e as RegistryError;
    return { code: r.code, status: r.status, message: r.message, headers: r.headers };
  };

  it('maps refused credentials to 401 UNAUTHORIZED, saying when a credential is disabled or expired', () => {
    expect(asRegistry(registryTokenError(new AuthError('invalid', 'x')))).toMatchObject({ code: 'UNAUTHORIZED', status: 401, message: 'authentication required', headers: {} });
    expect(asRegistry(registryTokenError(new AuthError('disabled', 'x'))).message).toBe('the credential is disabled');
    expect(asRegistry(registryTokenError(new AuthError('expired', 'x'))).message).toBe('the credential has expired');
  });

  it('maps throttling to 429 TOOMANYREQUESTS with Retry-After', () => {
    expect(asRegistry(registryTokenError(new AuthError('throttled', 'x', 42)))).toMatchObject({
      code: 'TOOMANYREQUESTS',
      status: 429,
      headers: { 'Retry-After': '42' },
    });
    expect(asRegistry(registryTokenError(new AuthError('throttled', 'x', 0))).headers).toEqual({ 'Retry-After': '1' });
  });

  it('maps bad scopes and bodies to 400', () => {
    expect(asRegistry(registryTokenError(new ScopeInvalidError('s', 'bad')))).toMatchObject({ status: 400, code: 'UNSUPPORTED' });
    expect(asRegistry(registryTokenError(new RequestInputError('too large')))).toMatchObject({ status: 400, message: 'too large' });
  });

  it('adds a Basic challenge to 401s of the Basic flow, echoing only a plain host name as the realm', () => {
    expect(asRegistry(registryTokenError(new AuthError('invalid', 'x'), { realm: 'reg.berth.localhost:5000' })).headers).toEqual({
      'WWW-Authenticate': 'Basic realm="reg.berth.localhost:5000"',
    });
    expect(asRegistry(registryTokenError(new AuthError('invalid', 'x'), { realm: 'evil"\r\nX: y' })).headers).toEqual({
      'WWW-Authenticate': 'Basic realm="berth"',
    });
    expect(asRegistry(registryTokenError(new AuthError('throttled', 'x', 5), { realm: 'r' })).headers).toEqual({ 'Retry-After': '5' });
  });

  it('leaves unexpected errors to the filter', () => {
    const boom = new Error('boom');
    expect(registryTokenError(boom)).toBe(boom);
  });
});
