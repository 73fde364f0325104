import { InvalidDigestError } from './blob-store.errors';
import { parseDigest } from './digest.util';

describe(parseDigest.name, () => {
  it('should split sha256 and sha512 digests', () => {
    const sha256 = `sha256:${'a1'.repeat(32)}`;
    expect(parseDigest(sha256)).toEqual({ algorithm: 'sha256', hex: 'a1'.repeat(32), digest: sha256 });
    const sha512 = `sha512:${'0f'.repeat(64)}`;
    expect(parseDigest(sha512)).toEqual({ algorithm: 'sha512', hex: '0f'.repeat(64), digest: sha512 });
  });

  it.each([
    ['no algorithm', 'a'.repeat(64)],
    ['an unsupported algorithm', `md5:${'a'.repeat(32)}`],
    ['a short sha256', `sha256:${'a'.repeat(63)}`],
    ['a long sha256', `sha256:${'a'.repeat(65)}`],
    ['sha512 with 64 hex', `sha512:${'a'.repeat(64)}`],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
    ['an empty string', ''],
    ['a trailing newline', `sha256:${'a'.repeat(64)}\n`],
  ])('should reject %s with InvalidDigestError', (_case, digest) => {
    expect(() => parseDigest(digest)).toThrow(InvalidDigestError);
  });
});
