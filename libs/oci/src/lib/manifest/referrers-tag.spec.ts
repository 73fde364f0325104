import { isTag } from '../names';
import { referrersFallbackTag } from './referrers-tag';

describe('referrersFallbackTag', () => {
  // The three examples of distribution-spec "Referrers Tag Schema".
  it.each([
    [`sha256:${'a'.repeat(64)}`, `sha256-${'a'.repeat(64)}`],
    [`sha512:${'a'.repeat(128)}`, `sha512-${'a'.repeat(64)}`],
    [
      'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
      'test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot',
    ],
  ])('should map %s to %s', (digest, tag) => {
    expect(referrersFallbackTag(digest)).toBe(tag);
    expect(isTag(tag)).toBe(true);
  });

  it.each(['', 'sha256', 'sha256:', ':abc', 'SHA256:abc', 'sha256:a/b', 'sha256::a', `sha256:${'a'.repeat(2000)}`])(
    'should refuse %j with DIGEST_INVALID',
    (digest) => {
      expect(() => referrersFallbackTag(digest)).toThrow(
        expect.objectContaining({ code: 'DIGEST_INVALID', status: 400 }),
      );
    },
  );
});
