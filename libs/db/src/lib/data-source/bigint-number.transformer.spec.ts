import { bigintNumber } from './bigint-number.transformer';

describe('bigintNumber', () => {
  it('should read pg bigint strings as numbers', () => {
    expect(bigintNumber.from('0')).toBe(0);
    expect(bigintNumber.from('214748364800')).toBe(214_748_364_800);
    expect(bigintNumber.from(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('should pass null, undefined and numbers through', () => {
    expect(bigintNumber.from(null)).toBeNull();
    expect(bigintNumber.from(undefined)).toBeUndefined();
    expect(bigintNumber.from(7)).toBe(7);
    expect(bigintNumber.to(7)).toBe(7);
  });

  it('should refuse a value a number cannot hold exactly', () => {
    expect(() => bigintNumber.from('9007199254740993')).toThrow(RangeError);
    expect(() => bigintNumber.from({})).toThrow(TypeError);
  });
});
