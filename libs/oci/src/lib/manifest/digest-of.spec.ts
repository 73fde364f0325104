import { createHash } from 'node:crypto';
import { parseDigest } from '../digest';
import { digestOf } from './digest-of';

describe('digestOf', () => {
  const bytes = Buffer.from('{"schemaVersion":2}');

  it('should default to sha256', () => {
    expect(digestOf(bytes)).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect(digestOf(bytes, 'sha256')).toBe(digestOf(bytes));
  });

  it('should support sha512', () => {
    expect(digestOf(bytes, 'sha512')).toBe(`sha512:${createHash('sha512').update(bytes).digest('hex')}`);
  });

  it('should produce digests that parseDigest accepts, also for empty content', () => {
    expect(digestOf(Buffer.alloc(0))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(parseDigest(digestOf(bytes, 'sha512')).algorithm).toBe('sha512');
  });
});
