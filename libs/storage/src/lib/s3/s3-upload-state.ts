/**
 * The state of one S3 upload, stored as `registries/<registryId>/uploads/<uploadId>/state.json` and replaced
 * (one atomic PUT) at the end of every successful append. It is the single source of truth: segment objects
 * that it does not list (left by an append that failed or crashed half-way) are ignored, overwritten by the
 * next append (same sequence numbers), and removed with the upload.
 */
export interface S3UploadState {
  readonly v: 1;
  /** ISO-8601 time of beginUpload. */
  readonly startedAt: string;
  /** Total bytes: the sum of the segment sizes. */
  readonly size: number;
  /**
   * The uploaded bytes, in order. Every segment but the last is at least 5 MiB (they are cut at the part
   * size), so they can be assembled with UploadPartCopy; a last segment smaller than the part size is "open"
   * and gets merged with the next append's first bytes.
   */
  readonly segments: readonly S3Segment[];
  /** The sequence number the next new segment object gets. Never reused for a listed segment. */
  readonly nextSeq: number;
}

export interface S3Segment {
  readonly seq: number;
  readonly size: number;
}

export function newUploadState(startedAt: Date): S3UploadState {
  return { v: 1, startedAt: startedAt.toISOString(), size: 0, segments: [], nextSeq: 0 };
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and checks a stored state; throws an Error naming the problem when it is not a consistent v1 state. */
export function parseUploadState(json: string): S3UploadState {
  const raw = JSON.parse(json) as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object' || raw['v'] !== 1) throw new Error('upload state: unknown version');
  const { startedAt, size, segments, nextSeq } = raw;
  if (typeof startedAt !== 'string' || Number.isNaN(new Date(startedAt).getTime())) {
    throw new Error('upload state: bad startedAt');
  }
  if (!isNonNegativeInteger(size) || !isNonNegativeInteger(nextSeq) || !Array.isArray(segments)) {
    throw new Error('upload state: bad size, nextSeq or segments');
  }
  let total = 0;
  const parsed: S3Segment[] = [];
  for (const segment of segments as unknown[]) {
    const { seq, size: segmentSize } = (segment ?? {}) as Record<string, unknown>;
    if (!isNonNegativeInteger(seq) || !isNonNegativeInteger(segmentSize) || seq >= nextSeq) {
      throw new Error('upload state: bad segment');
    }
    total += segmentSize;
    parsed.push({ seq, size: segmentSize });
  }
  if (total !== size) throw new Error('upload state: segment sizes do not add up');
  return { v: 1, startedAt, size, segments: parsed, nextSeq };
}
