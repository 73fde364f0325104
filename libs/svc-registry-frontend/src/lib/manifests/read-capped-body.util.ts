import type { Readable } from 'node:stream';

/** Thrown by readCappedBody when the body is (or declares itself) larger than the cap. */
export class BodyTooLargeError extends Error {
  constructor(readonly size: number) {
    super(`body exceeds the limit (${size} bytes seen or declared)`);
    this.name = new.target.name;
  }
}

/**
 * Reads a whole request body into memory, never holding more than `cap` bytes: a declared Content-Length over
 * the cap is refused before anything is read, and a body that grows past the cap while streaming (chunked
 * encoding, or a lying Content-Length) is refused as soon as it does. On refusal the stream is paused and left
 * unread; the caller answers with `Connection: close` so the rest of the body is never consumed.
 */
export async function readCappedBody(body: Readable, cap: number, declaredLength?: number): Promise<Buffer> {
  if (declaredLength !== undefined && declaredLength > cap) throw new BodyTooLargeError(declaredLength);
  // A body a parser already consumed would never emit 'end' again: fail instead of hanging.
  if (body.readableEnded) throw new Error('request body was already consumed');
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > cap) {
        cleanup();
        body.pause();
        reject(new BodyTooLargeError(size));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      // 'close' before 'end': the client went away mid-body.
      cleanup();
      reject(new Error('request body aborted'));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}
