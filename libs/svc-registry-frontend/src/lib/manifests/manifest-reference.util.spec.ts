import { RegistryError } from '@berth/oci';
import { parseManifestReference } from './manifest-reference.util';

describe(parseManifestReference.name, () => {
  it('should read a tag', () => {
    expect(parseManifestReference('v1.0_rc-1')).toEqual({ kind: 'tag', tag: 'v1.0_rc-1' });
  });

  it('should read sha256 and sha512 digests', () => {
    const sha256 = `sha256:${'a'.repeat(64)}`;
    const sha512 = `sha512:${'b'.repeat(128)}`;
    expect(parseManifestReference(sha256)).toMatchObject({ kind: 'digest', digest: { algorithm: 'sha256', value: sha256 } });
    expect(parseManifestReference(sha512)).toMatchObject({ kind: 'digest', digest: { algorithm: 'sha512', value: sha512 } });
  });

  it.each([
    ['sha256:totallywrong', 'DIGEST_INVALID'],
    [`md5:${'a'.repeat(32)}`, 'DIGEST_INVALID'],
    ['-leading-dash', 'TAG_INVALID'],
    ['x'.repeat(129), 'TAG_INVALID'],
  ])('should refuse %s with %s', (ref, code) => {
    let err: unknown;
    try {
      parseManifestReference(ref);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe(code);
  });
});
