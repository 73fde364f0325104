import { InvalidEventBusArgumentError } from '../errors/invalid-event-bus-argument.error';
import { jitteredBackoffMs, resolveRetryBackoff } from './jittered-backoff.util';

describe('jitteredBackoffMs', () => {
  const backoff = { initialMs: 100, maxMs: 1_000 };

  it('should double the base per attempt and cap it at maxMs', () => {
    const top = (attempt: number): number => jitteredBackoffMs(attempt, backoff, () => 1);
    expect([1, 2, 3, 4, 5, 50].map(top)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('should jitter within [base / 2, base] ("equal jitter")', () => {
    expect(jitteredBackoffMs(3, backoff, () => 0)).toBe(200);
    expect(jitteredBackoffMs(3, backoff, () => 0.5)).toBe(300);
    for (let i = 0; i < 200; i++) {
      const wait = jitteredBackoffMs(2, backoff);
      expect(wait).toBeGreaterThanOrEqual(100);
      expect(wait).toBeLessThanOrEqual(200);
    }
  });

  it('should keep growing below the cap: a wait is never shorter than the one before, whatever the jitter', () => {
    // Bases 100, 200, 400, 800: each one's lower half-bound is the previous one's upper bound.
    for (let attempt = 1; attempt < 4; attempt++) {
      expect(jitteredBackoffMs(attempt + 1, backoff, () => 0)).toBeGreaterThanOrEqual(
        jitteredBackoffMs(attempt, backoff, () => 1),
      );
    }
  });

  it('should treat attempts below 1 as the first', () => {
    expect(jitteredBackoffMs(0, backoff, () => 1)).toBe(100);
    expect(jitteredBackoffMs(-3, backoff, () => 1)).toBe(100);
  });
});

describe('resolveRetryBackoff', () => {
  it('should fill unset fields from the defaults', () => {
    expect(resolveRetryBackoff(undefined, { initialMs: 10, maxMs: 20 })).toEqual({ initialMs: 10, maxMs: 20 });
    expect(resolveRetryBackoff({ initialMs: 50 }, { initialMs: 10, maxMs: 20 })).toEqual({ initialMs: 50, maxMs: 50 });
  });

  it('should refuse non-positive values and a max below the initial wait', () => {
    expect(() => resolveRetryBackoff({ initialMs: 0 }, { initialMs: 10, maxMs: 20 })).toThrow(
      InvalidEventBusArgumentError,
    );
    expect(() => resolveRetryBackoff({ initialMs: 1.5 }, { initialMs: 10, maxMs: 20 })).toThrow(/initialMs/);
    expect(() => resolveRetryBackoff({ initialMs: 30, maxMs: 20 }, { initialMs: 10, maxMs: 20 })).toThrow(/maxMs/);
  });
});
