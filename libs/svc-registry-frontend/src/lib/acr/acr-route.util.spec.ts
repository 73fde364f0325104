import { parseAcrRoute } from './acr-route.util';

describe(parseAcrRoute.name, () => {
  it.each([
    ['/acr/v1/_catalog', { kind: 'catalog' }],
    ['/acr/v1/hello-world', { kind: 'repository', name: 'hello-world' }],
    ['/acr/v1/team/app/', { kind: 'repository', name: 'team/app' }],
    ['/acr/v1/team/app/_tags', { kind: 'tags', name: 'team/app' }],
    ['/acr/v1/team/app/_tags/v1.0', { kind: 'tag', name: 'team/app', tag: 'v1.0' }],
    ['/acr/v1/a/b/c/_manifests', { kind: 'manifests', name: 'a/b/c' }],
    ['/acr/v1/a/_manifests/sha256:abc', { kind: 'manifest', name: 'a', reference: 'sha256:abc' }],
    ['/acr/v1/a/_manifests/sha256%3Aabc', { kind: 'manifest', name: 'a', reference: 'sha256:abc' }],
    // A repository may end in a component that looks like an ACR keyword only without the underscore.
    ['/acr/v1/tags/_tags', { kind: 'tags', name: 'tags' }],
  ])('%s', (path, route) => expect(parseAcrRoute(path)).toEqual(route));

  it('refuses invalid repository names and encodings as NAME_INVALID', () => {
    expect(() => parseAcrRoute('/acr/v1/../etc/_tags')).toThrow(expect.objectContaining({ code: 'NAME_INVALID', status: 400 }));
    expect(() => parseAcrRoute('/acr/v1/Upper')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => parseAcrRoute('/acr/v1/%zz')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });

  it('answers NAME_UNKNOWN for paths the API does not have', () => {
    expect(() => parseAcrRoute('/acr/v1/')).toThrow(expect.objectContaining({ code: 'NAME_UNKNOWN', status: 404 }));
    expect(() => parseAcrRoute('/acr/v1/_other')).toThrow(expect.objectContaining({ code: 'NAME_UNKNOWN' }));
    expect(() => parseAcrRoute('/acr/v1/a/_tags/x/y')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });
});
