import { MAX_PAGE_SIZE, nextLink, parsePageParams } from './pagination';

describe('parsePageParams', () => {
  it.each<[string | undefined, string | undefined, object]>([
    [undefined, undefined, {}],
    ['', '', {}],
    [undefined, 'v1', { last: 'v1' }],
    ['0', undefined, { n: 0 }],
    ['2', 'b', { n: 2, last: 'b' }],
    ['010', undefined, { n: 10 }],
    [String(MAX_PAGE_SIZE), 'team/app', { n: 10_000, last: 'team/app' }],
  ])('should read n=%j last=%j', (n, last, expected) => {
    expect(parsePageParams(n, last)).toStrictEqual(expected);
  });

  it.each(['-1', '1.5', 'abc', ' 1', '1 ', '1e3', '0x10', '+1', '99999999999999999999', '10001'])(
    'should refuse n=%j with PAGINATION_NUMBER_INVALID (400)',
    (n) => {
      expect(() => parsePageParams(n, undefined)).toThrow(
        expect.objectContaining({
          code: 'PAGINATION_NUMBER_INVALID',
          status: 400,
          detail: expect.objectContaining({ n: expect.anything() }),
        }),
      );
    },
  );

  it('should honour a custom maximum', () => {
    expect(parsePageParams('100', undefined, { max: 100 })).toEqual({ n: 100 });
    expect(() => parsePageParams('101', undefined, { max: 100 })).toThrow(
      expect.objectContaining({
        code: 'PAGINATION_NUMBER_INVALID',
        detail: { n: 101, reason: 'n must be at most 100' },
      }),
    );
  });

  it('should clamp instead of refusing when asked', () => {
    expect(parsePageParams('50000', 'x', { clamp: true })).toEqual({ n: MAX_PAGE_SIZE, last: 'x' });
    expect(parsePageParams('7', undefined, { clamp: true, max: 5 })).toEqual({ n: 5 });
  });

  it('should clip a huge n in the detail', () => {
    expect(() => parsePageParams('x'.repeat(10_000), undefined)).toThrow(
      expect.objectContaining({ detail: expect.objectContaining({ n: expect.stringMatching(/^x{40}…$/) }) }),
    );
  });
});

describe('nextLink', () => {
  it('should build the spec’s example', () => {
    expect(nextLink('/v2/team/app/tags/list', 2, 'b')).toBe('</v2/team/app/tags/list?n=2&last=b>; rel="next"');
  });

  it('should percent-encode query values', () => {
    expect(nextLink('/v2/_catalog', 100, 'team/app')).toBe('</v2/_catalog?n=100&last=team%2Fapp>; rel="next"');
    expect(nextLink('/v2/a/tags/list', 1, 'a&b=c d>')).toBe('</v2/a/tags/list?n=1&last=a%26b%3Dc%20d%3E>; rel="next"');
  });

  it('should carry extra parameters first', () => {
    expect(
      nextLink('/v2/a/referrers/sha256:abc', 10, 'sha256:def', { artifactType: 'application/vnd.example+json' }),
    ).toBe(
      '</v2/a/referrers/sha256:abc?artifactType=application%2Fvnd.example%2Bjson&n=10&last=sha256%3Adef>; rel="next"',
    );
  });

  it.each(['v2/a/tags/list', '/v2/a/tags/list?n=1', '/v2/a#x', ''])('should refuse the path %j', (path) => {
    expect(() => nextLink(path, 1, 'a')).toThrow(TypeError);
  });

  it('should escape characters that would break the header', () => {
    expect(nextLink('/v2/a b>/tags/list', 1, 'x')).toBe('</v2/a%20b%3E/tags/list?n=1&last=x>; rel="next"');
  });
});
