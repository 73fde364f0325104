import type { FileHandle } from 'node:fs/promises';
import { finished, type Readable } from 'node:stream';
import { toBuffer } from '../stream.util';

/** Socket chunks (~64 KiB) are written in batches of about this many bytes, or this many chunks, whichever comes first. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 64;
/** While this many batches are being written the body is paused (memory: about this many MiB, plus one batch). */
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
 * `writev` on the thread pool while the body is read further; with {@link WRITES_IN_FLIGHT} batches in flight the
 * body is paused (backpressure reaches the client), so memory stays at a few MiB whatever the body's size. Every
 * {@link WRITE_BACK_BYTES} a background fdatasync starts the write-back of what was written so far, so that the
 * caller's final fdatasync finds little left to do. The body is consumed through its `data` events, not an async
 * iterator: no promise per chunk.
 *
 * On failure (the body stream failed or closed early, a write or sync failed) the body is destroyed, and the
 * promise rejects only once no write or sync is running any more: the caller may then safely truncate the file.
 */
export function writeBody(
  handle: FileHandle,
  body: Readable,
  start: number,
  onChunk: (chunk: Buffer) => void,
): Promise<BodyWritten> {
  return new Promise<BodyWritten>((resolve, reject) => {
    let position = start;
    let batch: Buffer[] = [];
    let batched = 0;
    let writing = 0;
    let unsynced = 0;
    let syncing = false;
    let ended = false;
    let failure: { error: unknown } | undefined;
    let settled = false;

    const settle = (): void => {
      if (settled || writing > 0 || syncing || (!ended && !failure)) return;
      settled = true;
      body.off('data', onData);
      stopWatching();
      if (failure) reject(failure.error);
      else resolve({ end: position });
    };
    const fail = (error: unknown): void => {
      if (!failure) {
        failure = { error };
        if (!body.destroyed) body.destroy();
      }
      settle();
    };
    const dispatch = (): void => {
      const chunks = batch;
      const bytes = batched;
      const at = position;
      batch = [];
      batched = 0;
      position += bytes;
      unsynced += bytes;
      writing += 1;
      writeAll(handle, chunks, bytes, at).then(
        () => {
          writing -= 1;
          if (!failure && !ended && writing < WRITES_IN_FLIGHT && body.isPaused()) body.resume();
          settle();
        },
        (error: unknown) => {
          writing -= 1;
          fail(error);
        },
      );
      if (writing >= WRITES_IN_FLIGHT) body.pause();
      if (!syncing && unsynced >= WRITE_BACK_BYTES) {
        unsynced = 0;
        syncing = true;
        handle.datasync().then(
          () => {
            syncing = false;
            settle();
          },
          (error: unknown) => {
            syncing = false;
            fail(error);
          },
        );
      }
    };
    const onData = (data: unknown): void => {
      if (failure) return;
      let chunk: Buffer;
      try {
        chunk = toBuffer(data);
        if (chunk.length === 0) return;
        onChunk(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) dispatch();
    };

    body.on('data', onData);
    // `finished` reports an error, and a close before the end (an aborted request), as a failure.
    const stopWatching = finished(body, (error) => {
      if (failure) return;
      if (error) {
        fail(error);
        return;
      }
      ended = true;
      if (batched > 0) dispatch();
      settle();
    });
  });
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
