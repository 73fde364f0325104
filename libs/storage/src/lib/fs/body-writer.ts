import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { bufferChunks } from '../stream.util';

/** Socket chunks (~64 KiB) are written in batches of about this many bytes, or this many chunks, whichever comes first. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 64;
/** At most this many batches are being written while the body is read further (memory: about this many MiB). */
const WRITES_IN_FLIGHT = 2;
/** Write-back of the dirty pages starts (a background fdatasync) whenever this many more bytes were written. */
const WRITE_BACK_BYTES = 8 * 1024 * 1024;

/** What a {@link writeBody} call wrote. */
export interface BodyWritten {
  /** The file position after the last byte (= `start` + the body's length). */
  readonly end: number;
}

/**
 * Streams `body` into `handle` from byte `start` and resolves once every byte is written (not yet durable: the
 * caller fdatasyncs, after checking a digest if it has one). `onChunk` sees every chunk in order as it is read
 * (hashing while the body streams).
 *
 * Reading and writing overlap: the chunks are gathered into ~1 MiB batches, each written with one positional
 * `writev` on the thread pool while the body is read further; at most {@link WRITES_IN_FLIGHT} batches are in
 * flight, then the body waits (backpressure reaches the client), so memory stays at a few MiB whatever the
 * body's size. Every {@link WRITE_BACK_BYTES} a background fdatasync starts the write-back of what was written so
 * far, so that the caller's final fdatasync finds little left to do.
 *
 * On failure (the body stream failed, a write failed) it waits until no write or sync is running any more,
 * then rejects: the caller may then safely truncate the file back.
 */
export async function writeBody(
  handle: FileHandle,
  body: Readable,
  start: number,
  onChunk: (chunk: Buffer) => void,
): Promise<BodyWritten> {
  const writing: Array<Promise<void>> = [];
  let position = start;
  let batch: Buffer[] = [];
  let batched = 0;
  let unsynced = 0;
  let writeBack: Promise<void> | undefined;
  let writeBackError: { error: unknown } | undefined;

  const dispatch = (): void => {
    const write = writeAll(handle, batch, batched, position);
    write.catch(() => undefined); // observed when awaited below; not "unhandled" meanwhile
    writing.push(write);
    position += batched;
    unsynced += batched;
    batch = [];
    batched = 0;
  };
  const startWriteBack = (): void => {
    if (writeBack !== undefined || unsynced < WRITE_BACK_BYTES) return;
    unsynced = 0;
    writeBack = handle.datasync().then(
      () => {
        writeBack = undefined;
      },
      (error: unknown) => {
        writeBackError ??= { error };
        writeBack = undefined;
      },
    );
  };

  try {
    for await (const chunk of bufferChunks(body)) {
      if (chunk.length === 0) continue;
      onChunk(chunk);
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) {
        dispatch();
        startWriteBack();
        if (writing.length >= WRITES_IN_FLIGHT) await writing.shift();
      }
    }
    if (batched > 0) dispatch();
    while (writing.length > 0) await writing.shift();
    await writeBack;
    if (writeBackError) throw writeBackError.error;
    return { end: position };
  } catch (err) {
    await Promise.allSettled([...writing, writeBack]);
    throw err;
  }
}

/** Writes `chunks` (`bytes` in all) at `position`: one writev, then whatever it left (a short write) piece by piece. */
async function writeAll(handle: FileHandle, chunks: readonly Buffer[], bytes: number, position: number): Promise<void> {
  const { bytesWritten } =
    chunks.length === 1 ? await handle.write(chunks[0] as Buffer, 0, bytes, position) : await handle.writev(chunks, position);
  if (bytesWritten < bytes) await writeFully(handle, Buffer.concat(chunks, bytes).subarray(bytesWritten), position + bytesWritten);
}

async function writeFully(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}
