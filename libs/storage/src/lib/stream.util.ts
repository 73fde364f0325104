import type { Readable } from 'node:stream';

/** Normalises a chunk from a Readable (Buffer, Uint8Array or string) into a Buffer without copying bytes. */
export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('upload body must be a byte stream (Buffer, Uint8Array or string chunks)');
}

/** Iterates a Readable's chunks as Buffers, with backpressure (the stream is paused while the loop body awaits). */
export async function* bufferChunks(body: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of body as AsyncIterable<unknown>) yield toBuffer(chunk);
}

/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms`, whichever comes first. The timer never keeps
 * the process alive. `work` keeps running on timeout: callers use it where the work is bounded on its own.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Runs `fn` and turns its result or synchronous throw into a promise (for validation in non-async methods). */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
