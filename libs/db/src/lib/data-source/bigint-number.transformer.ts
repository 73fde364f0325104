import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` columns arrive from `pg` as strings (they may exceed 2^53). Berth's bigint values are byte
 * sizes, offsets and counters that stay far below 2^53 (9 PiB), so entities expose them as numbers. Reading a value
 * that does not fit a double exactly throws instead of silently losing precision.
 */
export const bigintNumber: ValueTransformer = {
  to(value: unknown): unknown {
    return value;
  },
  from(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === 'number') return value;
    if (typeof value !== 'string' && typeof value !== 'bigint') {
      throw new TypeError(`expected a bigint column value, got ${typeof value}`);
    }
    const n = Number(value);
    if (!Number.isSafeInteger(n)) {
      throw new RangeError(`bigint column value ${String(value)} does not fit a JavaScript number exactly`);
    }
    return n;
  },
};
