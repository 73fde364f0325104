import { RegistryError } from '../errors';
import { parseContentRange, parseRangeHeader } from './range';

describe('parseContentRange', () => {
  it.each([
    ['0-1023', 0, 1023],
    ['1024-2047', 1024, 2047],
    ['0-0', 0, 0],
    ['5-5', 5, 5],
    [' 10-20 ', 10, 20],
    ['007-9', 7, 9],
    [`0-${Number.MAX_SAFE_INTEGER}`, 0, Number.MAX_SAFE_INTEGER],
  ])('should read %j as %d..%d inclusive', (header, start, end) => {
    expect(parseContentRange(header)).toEqual({ start, end });
  });

  it.each([
    ['empty', '', /expected <start>-<end>/],
    ['RFC 9110 form', 'bytes 0-1023/2048', /expected/],
    ['Range form', 'bytes=0-1023', /expected/],
    ['open end', '0-', /expected/],
    ['suffix', '-100', /expected/],
    ['negative', '-1-5', /expected/],
    ['letters', 'a-b', /expected/],
    ['hex', '0x0-0x10', /expected/],
    ['two ranges', '0-1,2-3', /expected/],
    ['beyond 2^53', '0-99999999999999999999', /expected/],
    ['end before start', '10-9', /end is before start/],
  ])('should refuse %s with RANGE_INVALID (416)', (_label, header, reason) => {
    let err: unknown;
    try {
      parseContentRange(header);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({
      code: 'RANGE_INVALID',
      status: 416,
      detail: { contentRange: header.trim() === header ? header : expect.any(String) },
    });
    expect((err as RegistryError).detail).toEqual(expect.objectContaining({ reason: expect.stringMatching(reason) }));
  });

  it('should clip a huge header in the detail', () => {
    expect(() => parseContentRange('9'.repeat(10_000))).toThrow(
      expect.objectContaining({
        detail: expect.objectContaining({ contentRange: expect.stringMatching(/^9{100}…$/) }),
      }),
    );
  });
});

describe('parseRangeHeader', () => {
  const size = 2000;

  // The cases the conformance suite's blob range tests send.
  it.each([
    ['bytes=500-1499', 500, 1499],
    ['bytes=500-', 500, 1999],
    ['bytes=-500', 1500, 1999],
    ['bytes=500-99999', 500, 1999],
    ['bytes=0-0', 0, 0],
    ['bytes=1999-1999', 1999, 1999],
    ['bytes=0-', 0, 1999],
    ['bytes=-5000', 0, 1999],
    ['bytes=0-99999999999999999999999', 0, 1999],
    ['BYTES = 10-20 ', 10, 20],
  ])('should serve %j as bytes %d-%d', (header, start, end) => {
    expect(parseRangeHeader(header, size)).toEqual({
      kind: 'partial',
      start,
      end,
      length: end - start + 1,
      contentRange: `bytes ${start}-${end}/${size}`,
    });
  });

  it.each([
    'bytes=500-0',
    'bytes=2000-',
    'bytes=2000-2001',
    'bytes=5000-6000',
    'bytes=-0',
    'bytes=99999999999999999999-',
  ])('should answer %j with 416 and bytes */size', (header) => {
    expect(parseRangeHeader(header, size)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */2000' });
  });

  it.each<[string | undefined, string]>([
    [undefined, 'absent'],
    ['', 'absent'],
    ['  ', 'absent'],
    ['bytes=0-1,5-6', 'multiple'],
    ['bytes=0-1, 3000-4000', 'multiple'],
    ['items=0-1', 'unit'],
    ['0-1', 'malformed'],
    ['bytes', 'malformed'],
    ['bytes=', 'malformed'],
    ['bytes=-', 'malformed'],
    ['bytes=abc', 'malformed'],
    ['bytes=1-2-3', 'malformed'],
    ['bytes=+1-2', 'malformed'],
  ])('should ignore %j (%s) and serve the whole body', (header, reason) => {
    expect(parseRangeHeader(header, size)).toEqual({ kind: 'ignore', reason });
  });

  describe('an empty representation', () => {
    it('should find every start unsatisfiable', () => {
      expect(parseRangeHeader('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */0' });
      expect(parseRangeHeader('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */0' });
    });
    it('should ignore a suffix range, which selects nothing Content-Range can express', () => {
      expect(parseRangeHeader('bytes=-1', 0)).toEqual({ kind: 'ignore', reason: 'empty-representation' });
    });
  });

  it('should serve a one-byte body', () => {
    expect(parseRangeHeader('bytes=-1', 1)).toMatchObject({ kind: 'partial', start: 0, end: 0, length: 1 });
  });

  it.each([-1, 1.5, NaN, Infinity])('should reject an invalid size %d as a programming error', (bad) => {
    expect(() => parseRangeHeader('bytes=0-1', bad)).toThrow(TypeError);
  });
});
