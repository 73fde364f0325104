import { createHash } from 'node:crypto';
import { isDigest, parseDigest } from './digest';

const sha256 = `sha256:${createHash('sha256').update('x').digest('hex')}`;
const sha512 = `sha512:${createHash('sha512').update('x').digest('hex')}`;

describe('parseDigest', () => {
  it('parses sha256 and sha512', () => {
    expect(parseDigest(sha256)).toEqual({ algorithm: 'sha256', encoded: sha256.slice(7), value: sha256 });
    expect(parseDigest(sha512).algorithm).toBe('sha512');
  });
  it.each([
    ['empty', ''],
    ['no algorithm', sha256.slice(7)],
    ['upper-case hex', sha256.toUpperCase().replace('SHA256', 'sha256')],
    ['short', 'sha256:abc'],
    ['long', `${sha256}0`],
    ['unsupported algorithm', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
    ['bad grammar', 'sha256::x'],
    ['traversal', 'sha256:../../etc/passwd'],
  ])('refuses %s with DIGEST_INVALID', (_label, d) => {
    expect(() => parseDigest(d)).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID', status: 400 }));
    expect(isDigest(d)).toBe(false);
  });
});
