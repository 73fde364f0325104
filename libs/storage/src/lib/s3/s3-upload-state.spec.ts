import { newUploadState, parseUploadState } from './s3-upload-state';

describe(parseUploadState.name, () => {
  it('should round-trip a state', () => {
    const state = {
      ...newUploadState(new Date('2026-01-01T00:00:00Z')),
      size: 7,
      segments: [{ seq: 0, size: 7 }],
      nextSeq: 1,
    };
    expect(parseUploadState(JSON.stringify(state))).toEqual(state);
  });

  it.each([
    ['an unknown version', { v: 2 }],
    ['a bad start time', { v: 1, startedAt: 'yesterday', size: 0, segments: [], nextSeq: 0 }],
    [
      'sizes that do not add up',
      { v: 1, startedAt: '2026-01-01T00:00:00Z', size: 5, segments: [{ seq: 0, size: 4 }], nextSeq: 1 },
    ],
    [
      'a segment beyond nextSeq',
      { v: 1, startedAt: '2026-01-01T00:00:00Z', size: 4, segments: [{ seq: 3, size: 4 }], nextSeq: 1 },
    ],
    ['a negative size', { v: 1, startedAt: '2026-01-01T00:00:00Z', size: -1, segments: [], nextSeq: 0 }],
  ])('should reject %s', (_case, raw) => {
    expect(() => parseUploadState(JSON.stringify(raw))).toThrow(/upload state/);
  });
});
