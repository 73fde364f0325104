import { parseV2Route } from './v2-route.util';

describe(parseV2Route.name, () => {
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/library/alpine/tags/list', { kind: 'tags', name: 'library/alpine' }],
    ['/v2/a/b/c/manifests/latest', { kind: 'manifest', name: 'a/b/c', reference: 'latest' }],
    ['/v2/a/manifests/sha256:abc', { kind: 'manifest', name: 'a', reference: 'sha256:abc' }],
    ['/v2/a/blobs/uploads/', { kind: 'uploads', name: 'a' }],
    ['/v2/a/blobs/uploads', { kind: 'uploads', name: 'a' }],
    ['/v2/a/blobs/uploads/abc-123', { kind: 'upload', name: 'a', uploadId: 'abc-123' }],
    ['/v2/team/app/blobs/sha256:ff', { kind: 'blob', name: 'team/app', digest: 'sha256:ff' }],
    ['/v2/x/referrers/sha256:ff', { kind: 'referrers', name: 'x', digest: 'sha256:ff' }],
    // A repository may itself end in a keyword-looking component; the last keyword wins.
    ['/v2/manifests/manifests/v1', { kind: 'manifest', name: 'manifests', reference: 'v1' }],
  ])('%s', (path, route) => expect(parseV2Route(path)).toEqual(route));

  it('refuses traversal and upper case as NAME_INVALID', () => {
    expect(() => parseV2Route('/v2/../etc/manifests/latest')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => parseV2Route('/v2/%2e%2e/x/manifests/latest')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => parseV2Route('/v2/Alpine/tags/list')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });

  it('answers NAME_UNKNOWN for paths the API does not have', () => {
    expect(() => parseV2Route('/v2/a/unknown/x')).toThrow(expect.objectContaining({ code: 'NAME_UNKNOWN', status: 404 }));
    expect(() => parseV2Route('/v2/%zz')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });
});
