import { PartCutter } from './part-cutter.util';

describe(PartCutter.name, () => {
  const bytes = (n: number, from = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 256));

  it('should cut small chunks into exact parts and keep the remainder', () => {
    const cutter = new PartCutter(10);
    expect(cutter.push(bytes(3))).toEqual([]);
    expect(cutter.push(bytes(4, 3))).toEqual([]);
    const parts = cutter.push(bytes(5, 7));
    expect(parts).toEqual([bytes(10)]);
    expect(cutter.pending).toBe(2);
    expect(cutter.flush()).toEqual(bytes(2, 10));
    expect(cutter.flush()).toEqual(Buffer.alloc(0));
  });

  it('should pass whole parts of a large chunk through and cut across chunk boundaries', () => {
    const cutter = new PartCutter(4);
    const parts = [...cutter.push(bytes(2)), ...cutter.push(bytes(11, 2))];
    expect(parts).toEqual([bytes(4), bytes(4, 4), bytes(4, 8)]);
    expect(cutter.flush()).toEqual(bytes(1, 12));
  });

  it('should not grow its buffer beyond one part', () => {
    const cutter = new PartCutter(1024 * 1024);
    for (let i = 0; i < 100; i++) cutter.push(bytes(1000));
    expect(cutter.pending).toBe(100_000);
    expect(cutter.flush().length).toBe(100_000);
  });

  it('should refuse a non-positive part size', () => {
    expect(() => new PartCutter(0)).toThrow(RangeError);
  });
});
