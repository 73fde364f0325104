import { RangeNotSatisfiableError } from './blob-store.errors';
import { resolveRange } from './byte-range.util';

describe(resolveRange.name, () => {
  it('should clamp the end to the last byte', () => {
    expect(resolveRange({ start: 0 }, 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange({ start: 5, end: 100 }, 10)).toEqual({ start: 5, end: 9 });
    expect(resolveRange({ start: 9, end: 9 }, 10)).toEqual({ start: 9, end: 9 });
  });

  it.each([
    [{ start: 10 }, 10],
    [{ start: 0 }, 0],
    [{ start: 5, end: 4 }, 10],
    [{ start: -1 }, 10],
    [{ start: Number.NaN }, 10],
  ])('should reject %j of a %i-byte blob', (range, size) => {
    expect(() => resolveRange(range, size)).toThrow(RangeNotSatisfiableError);
  });
});
