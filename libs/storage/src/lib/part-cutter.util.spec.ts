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

  it('should reuse a recycled part buffer for a later part, and never a view of the caller chunk', () => {
    const cutter = new PartCutter(4);
    cutter.push(bytes(3));
    const [first] = cutter.push(bytes(1, 3));
    expect(first).toEqual(bytes(4));
    cutter.recycle(first as Buffer);
    expect(cutter.push(bytes(2, 4))).toEqual([]);
    const [second] = cutter.push(bytes(2, 6));
    expect(second).toBe(first);
    expect(second).toEqual(bytes(4, 4));
    // A whole part passed through from a large chunk is the chunk's memory: recycling it must not reuse it.
    const big = bytes(4, 100);
    const [view] = cutter.push(big);
    cutter.recycle(view as Buffer);
    cutter.push(bytes(2, 200));
    const [third] = cutter.push(bytes(2, 202));
    expect(third).toEqual(bytes(4, 200));
    expect(big).toEqual(bytes(4, 100));
  });

  it('should hold a small body in memory of its own size, not a whole part (a 1 MiB blob, 16 MiB parts)', () => {
    const cutter = new PartCutter(16 * 1024 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 16; i++) expect(cutter.push(chunk)).toEqual([]);
    const rest = cutter.flush();
    expect(rest.length).toBe(1024 * 1024);
    expect(rest.buffer.byteLength).toBeLessThan(2 * 1024 * 1024);
    expect(rest.every((b) => b === 7)).toBe(true);
  });

  it('should refuse a non-positive part size', () => {
    expect(() => new PartCutter(0)).toThrow(RangeError);
  });
});
