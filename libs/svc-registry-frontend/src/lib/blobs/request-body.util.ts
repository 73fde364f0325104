import { RegistryError } from '@berth/oci';
import type { FastifyRequest } from 'fastify';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';

/**
 * A pass-through that counts bytes and fails the stream when the body is longer than `expected`, or ends
 * shorter. Storage appends are atomic (a failed body stream leaves the upload unchanged), so a body that
 * disagrees with its declared length changes nothing. `error` holds the guard's own failure, so that the
 * caller can tell it from a storage failure.
 */
export class LengthGuard extends Transform {
  bytes = 0;
  error: RegistryError | undefined;
  private discarding = false;

  constructor(private readonly expected: number | undefined) {
    super();
  }

  /** Reads the rest of the body and drops it (an answer that refuses it), so that the connection can be reused. */
  discard(): void {
    this.discarding = true;
    this.resume();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.discarding) {
      done();
      return;
    }
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      done(this.fail());
      return;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (!this.discarding && this.expected !== undefined && this.bytes !== this.expected) {
      done(this.fail());
      return;
    }
    done();
  }

  private fail(): RegistryError {
    this.error = new RegistryError('SIZE_INVALID', 'body length does not match the declared length', {
      expected: this.expected,
    });
    return this.error;
  }
}

/**
 * The request's body as a byte stream, exactly as the client sent it (RawBodyMiddleware keeps every /v2 body
 * unparsed, whatever its Content-Type), wrapped in a {@link LengthGuard}.
 */
export function requestBody(req: FastifyRequest, expected: number | undefined): LengthGuard {
  const guard = new LengthGuard(expected);
  // pipeline: a client abort destroys the guard too, so the storage append rejects and keeps nothing.
  pipeline(req.raw as Readable, guard, () => undefined);
  return guard;
}

/** True when the request carries a body (a non-zero Content-Length, or a chunked transfer). */
export function hasBody(req: FastifyRequest): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl.trim() !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The Content-Length header as a number, undefined when absent; SIZE_INVALID when malformed. */
export function contentLength(req: FastifyRequest): number | undefined {
  const cl = req.headers['content-length'];
  if (cl === undefined) return undefined;
  const n = Number(cl);
  if (!/^\s*\d+\s*$/.test(cl) || !Number.isSafeInteger(n)) {
    throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  }
  return n;
}

/** Discards an unread body (after an early answer), so that the connection can be reused. */
export function drainBody(req: FastifyRequest): void {
  const raw = req.raw as Readable;
  if (!raw.readableEnded && !raw.destroyed) raw.resume();
}
