import { RangeNotSatisfiableError } from './blob-store.errors';
import type { ByteRange } from './blob-store.port';

/** Throws RangeNotSatisfiableError unless `range` is non-negative integers with `end >= start` (size unknown yet). */
export function assertRangeShape(range: ByteRange): void {
  const { start, end } = range;
  const validStart = Number.isSafeInteger(start) && start >= 0;
  const validEnd = end === undefined || (Number.isSafeInteger(end) && end >= start);
  if (!validStart || !validEnd) throw new RangeNotSatisfiableError(start, end, undefined);
}

/**
 * The inclusive byte span `range` selects in a blob of `size` bytes (`end` clamped to the last byte), or a
 * RangeNotSatisfiableError when it selects nothing.
 */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  assertRangeShape(range);
  if (range.start >= size) throw new RangeNotSatisfiableError(range.start, range.end, size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
