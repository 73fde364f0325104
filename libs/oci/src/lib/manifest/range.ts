import { RegistryError } from '../errors';
import { clip } from './manifest-invalid.error';

/** An inclusive byte range: `start` to `end`, both included. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

const CONTENT_RANGE = /^([0-9]+)-([0-9]+)$/;

/**
 * The `Content-Range` of an upload PATCH. distribution-spec: `<start>-<end>`, inclusive on both ends,
 * matching `^[0-9]+-[0-9]+$` (not the RFC 9110 `bytes a-b/len` form). Anything else, an end before the
 * start, or a number beyond 2^53 - 1 is RANGE_INVALID (416). Whether the chunk starts at the upload's
 * current offset is the caller's check (also 416).
 */
export function parseContentRange(header: string): ByteRange {
  const match = typeof header === 'string' ? CONTENT_RANGE.exec(header.trim()) : null;
  const start = match ? Number(match[1]) : NaN;
  const end = match ? Number(match[2]) : NaN;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new RegistryError('RANGE_INVALID', 'invalid content range', {
      contentRange: clip(header, 100),
      reason: 'expected <start>-<end>, inclusive, in decimal',
    });
  }
  if (end < start) {
    throw new RegistryError('RANGE_INVALID', 'invalid content range', {
      contentRange: clip(header, 100),
      reason: 'end is before start',
    });
  }
  return { start, end };
}

/** What to answer a blob GET given its `Range` header. */
export type RangeRequest =
  /**
   * Serve the whole body with 200, as if there were no Range. RFC 9110 §14.2 lets a server ignore Range,
   * and requires it for an unknown unit. `reason` says why, for logs and tests.
   */
  | { readonly kind: 'ignore'; readonly reason: 'absent' | 'unit' | 'multiple' | 'malformed' | 'empty-representation' }
  /** Serve `start..end` (inclusive) with 206, `Content-Range` and `Content-Length: length`. */
  | {
      readonly kind: 'partial';
      readonly start: number;
      readonly end: number;
      readonly length: number;
      /** `bytes <start>-<end>/<size>` */
      readonly contentRange: string;
    }
  /** Answer 416 with this `Content-Range`: the unsatisfied-range form, `bytes *\/<size>`. */
  | { readonly kind: 'unsatisfiable'; readonly contentRange: string };

const SINGLE_RANGE = /^(\d*)-(\d*)$/;

/**
 * Interprets a `Range` header (RFC 9110 §14) for a representation of `size` bytes, one range only:
 * `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes).
 *
 * - An end past the last byte is clamped; a suffix longer than the body means the whole body.
 * - A start at or past the end of the body, `bytes=-0`, and `a-b` with b < a are unsatisfiable (416).
 *   RFC 9110 calls the last one invalid, which a server MAY reject; the conformance suite expects 416.
 * - Several ranges (`bytes=0-1,5-6`) are ignored and the whole body served: RFC 9110 lets a server ignore
 *   Range, and multipart/byteranges responses are something no registry client asks for.
 * - Other units and unparseable values are ignored likewise (RFC 9110 §14.2).
 * - On an empty body a suffix range is ignored: it is satisfiable but selects nothing that
 *   `Content-Range` can express.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError(`invalid representation size ${size}`);
  if (header === undefined || header.trim() === '') return { kind: 'ignore', reason: 'absent' };

  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'ignore', reason: 'malformed' };
  // RFC 9110 §14.1: range units are compared case-insensitively.
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'ignore', reason: 'unit' };
  const set = header.slice(eq + 1);
  if (set.includes(',')) return { kind: 'ignore', reason: 'multiple' };

  const match = SINGLE_RANGE.exec(set.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'ignore', reason: 'malformed' };
  const unsatisfiable: RangeRequest = { kind: 'unsatisfiable', contentRange: `bytes */${size}` };

  let start: number;
  let end: number;
  if (match[1] === '') {
    // suffix-range: the last n bytes.
    const suffix = Number(match[2]);
    if (suffix === 0) return unsatisfiable;
    if (size === 0) return { kind: 'ignore', reason: 'empty-representation' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    const last = match[2] === '' ? Infinity : Number(match[2]);
    if (last < start || start >= size) return unsatisfiable;
    end = Math.min(last, size - 1);
  }
  return { kind: 'partial', start, end, length: end - start + 1, contentRange: `bytes ${start}-${end}/${size}` };
}
