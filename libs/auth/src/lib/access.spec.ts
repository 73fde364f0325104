import { ScopeInvalidError } from './auth.errors';
import {
  accessIncludes,
  allowedRepositoryActions,
  formatScope,
  grantAccess,
  mergeAllowed,
  NOTHING_ALLOWED,
  parseScope,
  parseScopes,
  REPOSITORY_ACTIONS,
  repositoryPatternMatches,
  type AllowedAccess,
} from './access';

describe('parseScope', () => {
  it('splits type from the left and actions from the right', () => {
    expect(parseScope('repository:library/hello-world:pull,push')).toEqual({
      type: 'repository',
      name: 'library/hello-world',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
  });

  it('expands * on a repository to all five actions and drops unknown or repeated actions', () => {
    expect(parseScope('repository:a:*').actions).toEqual([...REPOSITORY_ACTIONS]);
    expect(parseScope('repository:a:pull,frobnicate,pull,metadata_read').actions).toEqual(['pull', 'metadata_read']);
    expect(parseScope('repository:a:').actions).toEqual([]);
  });

  it('keeps other resource types as given (they are never granted)', () => {
    expect(parseScope('artifact-repository:charts/x:pull')).toEqual({ type: 'artifact-repository', name: 'charts/x', actions: ['pull'] });
  });

  it.each([
    ['', 'empty'],
    ['repository', 'no separators'],
    ['repository:a', 'no actions part'],
    [':a:pull', 'empty type'],
    ['repository::pull', 'empty name'],
    ['repository:UPPER:pull', 'invalid repository name'],
    ['repository:a//b:pull', 'invalid repository name'],
    ['repository:../etc:pull', 'invalid repository name'],
    ['registry:other:*', 'registry scope other than catalog'],
    ['repository:a:pu ll', 'bad action'],
    ['repository:a:PULL', 'bad action'],
    ['re$po:a:pull', 'bad type'],
    [`repository:${'a'.repeat(1100)}:pull`, 'too long'],
  ])('refuses %j (%s)', (scope) => {
    expect(() => parseScope(scope)).toThrow(ScopeInvalidError);
  });

  it('refuses a name that is not a string', () => {
    expect(() => parseScope(undefined as unknown as string)).toThrow(ScopeInvalidError);
  });
});

describe('parseScopes', () => {
  it('accepts space-separated and repeated values and merges the same resource in first-seen order', () => {
    expect(parseScopes(['repository:b:pull registry:catalog:*', 'repository:a:push', 'repository:b:push,pull'])).toEqual([
      { type: 'repository', name: 'b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'a', actions: ['push'] },
    ]);
  });

  it('treats no scope as an empty request', () => {
    expect(parseScopes(undefined)).toEqual([]);
    expect(parseScopes([])).toEqual([]);
    expect(parseScopes('  ')).toEqual([]);
  });

  it('refuses the whole request when one scope is bad, and absurdly many scopes', () => {
    expect(() => parseScopes(['repository:a:pull', 'nonsense'])).toThrow(ScopeInvalidError);
    expect(() => parseScopes(Array.from({ length: 65 }, (_, i) => `repository:r${i}:pull`))).toThrow(ScopeInvalidError);
  });

  it('round-trips through formatScope', () => {
    expect(formatScope(parseScope('repository:x/y:pull,push'))).toBe('repository:x/y:pull,push');
  });
});

describe('repository patterns', () => {
  it('matches exact names, prefixes ending in /* and *', () => {
    expect(repositoryPatternMatches('*', 'anything/at/all')).toBe(true);
    expect(repositoryPatternMatches('team/*', 'team/app')).toBe(true);
    expect(repositoryPatternMatches('team/*', 'team/app/sub')).toBe(true);
    expect(repositoryPatternMatches('team/*', 'team')).toBe(false);
    expect(repositoryPatternMatches('team/*', 'teamx/app')).toBe(false);
    expect(repositoryPatternMatches('app', 'app')).toBe(true);
    expect(repositoryPatternMatches('app', 'app2')).toBe(false);
    expect(repositoryPatternMatches('app', 'other/app')).toBe(false);
  });
});

describe('grantAccess', () => {
  const allowed: AllowedAccess = {
    repositories: [
      { pattern: 'team/*', actions: ['pull'] },
      { pattern: 'team/app', actions: ['push'] },
    ],
    catalog: false,
  };

  it('grants the intersection per resource, in request order, leaving out what is not allowed at all', () => {
    const requested = parseScopes('repository:team/app:push,pull,delete registry:catalog:* repository:other:pull repository:team/lib:pull,push');
    expect(grantAccess(requested, allowed)).toEqual([
      { type: 'repository', name: 'team/app', actions: ['push', 'pull'] },
      { type: 'repository', name: 'team/lib', actions: ['pull'] },
    ]);
  });

  it('grants the catalog only when allowed, and never unknown resource types', () => {
    const requested = parseScopes('registry:catalog:* artifact-repository:team/app:pull');
    expect(grantAccess(requested, { ...allowed, catalog: true })).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    expect(grantAccess(requested, NOTHING_ALLOWED)).toEqual([]);
  });

  it('merges allowed sets additively', () => {
    const merged = mergeAllowed([allowed, { repositories: [{ pattern: '*', actions: ['metadata_read'] }], catalog: true }]);
    expect(allowedRepositoryActions(merged, 'team/app')).toEqual(['pull', 'push', 'metadata_read']);
    expect(allowedRepositoryActions(merged, 'x')).toEqual(['metadata_read']);
    expect(merged.catalog).toBe(true);
  });

  it('answers per-request checks against a granted access claim', () => {
    const access = [
      { type: 'repository', name: 'a', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ];
    expect(accessIncludes(access, 'repository', 'a', 'pull')).toBe(true);
    expect(accessIncludes(access, 'repository', 'a', 'push')).toBe(false);
    expect(accessIncludes(access, 'repository', 'b', 'pull')).toBe(false);
    expect(accessIncludes(access, 'registry', 'catalog', '*')).toBe(true);
  });
});
