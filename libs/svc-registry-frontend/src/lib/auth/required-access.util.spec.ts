import { RegistryError } from '@berth/oci';
import { authChallenge, tokenRealm } from './challenge.util';
import { challengeScope, requiredAccess } from './required-access.util';

describe('requiredAccess', () => {
  it.each([
    ['GET', '/v2/', { kind: 'authenticated' }],
    ['GET', '/v2/_catalog', { kind: 'catalog' }],
    ['GET', '/v2/a/b/tags/list', { kind: 'repository', name: 'a/b', action: 'pull' }],
    ['HEAD', '/v2/a/manifests/v1', { kind: 'repository', name: 'a', action: 'pull' }],
    ['PUT', '/v2/a/manifests/v1', { kind: 'repository', name: 'a', action: 'push' }],
    ['DELETE', '/v2/a/manifests/sha256:00', { kind: 'repository', name: 'a', action: 'delete' }],
    ['GET', '/v2/a/blobs/sha256:00', { kind: 'repository', name: 'a', action: 'pull' }],
    ['DELETE', '/v2/a/blobs/sha256:00', { kind: 'repository', name: 'a', action: 'delete' }],
    ['PATCH', '/v2/a/blobs/uploads/123', { kind: 'repository', name: 'a', action: 'push' }],
    ['GET', '/v2/a/blobs/uploads/123', { kind: 'repository', name: 'a', action: 'push' }],
    ['GET', '/v2/a/referrers/sha256:00', { kind: 'repository', name: 'a', action: 'pull' }],
    ['GET', '/acr/v1/_catalog', { kind: 'catalog' }],
    ['GET', '/acr/v1/team/app', { kind: 'repository', name: 'team/app', action: 'metadata_read' }],
    ['PATCH', '/acr/v1/team/app', { kind: 'repository', name: 'team/app', action: 'metadata_write' }],
    ['DELETE', '/acr/v1/team/app', { kind: 'repository', name: 'team/app', action: 'delete' }],
    ['GET', '/acr/v1/team/app/_tags', { kind: 'repository', name: 'team/app', action: 'metadata_read' }],
    ['PATCH', '/acr/v1/team/app/_tags/v1', { kind: 'repository', name: 'team/app', action: 'metadata_write' }],
    ['DELETE', '/acr/v1/team/app/_manifests/sha256:00', { kind: 'repository', name: 'team/app', action: 'delete' }],
    ['GET', '/acr/v1/team%2Fapp/_manifests', { kind: 'repository', name: 'team/app', action: 'metadata_read' }],
  ])('%s %s', (method, path, expected) => {
    expect(requiredAccess(method, path)).toEqual(expected);
  });

  it('names a mount source in the challenge, and ignores `from` without `mount` or with an invalid name', () => {
    const mount = requiredAccess('POST', '/v2/a/blobs/uploads/', { from: 'b/c', mount: 'sha256:00' });
    expect(challengeScope(mount)).toBe('repository:a:pull,push repository:b/c:pull');
    expect(requiredAccess('POST', '/v2/a/blobs/uploads/', { from: 'b' })).toEqual({
      kind: 'repository',
      name: 'a',
      action: 'push',
    });
    expect(requiredAccess('POST', '/v2/a/blobs/uploads/', { from: 'B"x', mount: 'sha256:00' })).toEqual({
      kind: 'repository',
      name: 'a',
      action: 'push',
    });
  });

  it('records the mount source of an upload start', () => {
    expect(requiredAccess('POST', '/v2/a/blobs/uploads/', { from: 'b', mount: 'sha256:00' })).toEqual({
      kind: 'repository',
      name: 'a',
      action: 'push',
      mountFrom: 'b',
    });
  });

  it.each([
    ['/v2/../etc/manifests/x', 'NAME_INVALID'],
    ['/v2/UPPER/manifests/x', 'NAME_INVALID'],
    ['/acr/v1/', 'NAME_UNKNOWN'],
    ['/acr/v1/Bad_Name!', 'NAME_INVALID'],
    ['/acr/v1/%E0%A4%A', 'NAME_INVALID'],
    ['/v2/nothing-here', 'NAME_UNKNOWN'],
  ])('refuses %s with %s before any authorization', (path, code) => {
    expect(() => requiredAccess('GET', path)).toThrow(expect.objectContaining({ code }) as RegistryError);
  });
});

describe('challenges', () => {
  it('asks for pull,push on a push and names nothing on the base route', () => {
    expect(challengeScope({ kind: 'repository', name: 'a', action: 'push' })).toBe('repository:a:pull,push');
    expect(challengeScope({ kind: 'catalog' })).toBe('registry:catalog:*');
    expect(challengeScope({ kind: 'authenticated' })).toBeUndefined();
  });

  it('renders the ACR challenge exactly', () => {
    const err = authChallenge({
      realm: tokenRealm('https', 'r.berth.localhost:5000', 'x'),
      service: 'r.berth.localhost',
      required: { kind: 'repository', name: 'hello-world', action: 'pull' },
    });
    expect(err.status).toBe(401);
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.headers['WWW-Authenticate']).toBe(
      'Bearer realm="https://r.berth.localhost:5000/oauth2/token",service="r.berth.localhost",scope="repository:hello-world:pull"',
    );
    expect(err.detail).toEqual([{ Type: 'repository', Name: 'hello-world', Action: 'pull' }]);
  });

  it('adds the token error and leaves the scope out on the base route', () => {
    const err = authChallenge({
      realm: 'http://h/oauth2/token',
      service: 's',
      required: { kind: 'authenticated' },
      error: 'invalid_token',
    });
    expect(err.headers['WWW-Authenticate']).toBe(
      'Bearer realm="http://h/oauth2/token",service="s",error="invalid_token"',
    );
  });

  it('never reflects a hostile Host header into the realm', () => {
    expect(tokenRealm('http', 'evil"host', 'fallback:5000')).toBe('http://fallback:5000/oauth2/token');
  });
});
