import { open, type FileHandle } from 'node:fs/promises';
import { finished, type Readable } from 'node:stream';
import { toBuffer } from '../stream.util';
import { DIRECT_ALIGN, directWriteFlags, SLAB_BYTES, type SlabPool } from './direct-io';

/** Socket chunks (~64 KiB) are written in batches of about this many bytes, or this many chunks, whichever comes first. */
const WRITE_BATCH_BYTES = 1024 * 1024;
const WRITE_BATCH_CHUNKS = 64;
/** While this many batches are being written the body is paused (memory: about this many MiB, plus one batch). */
const WRITES_IN_FLIGHT = 2;
/** Direct writes in flight at most (each holds a slab); one more slab is being filled meanwhile. */
const DIRECT_WRITES_IN_FLIGHT = 3;
/** Write-back of the dirty pages starts (a background fdatasync) whenever this many more bytes were written. */
const WRITE_BACK_BYTES = 8 * 1024 * 1024;

/** What a {@link writeBody} call wrote. */
export interface BodyWritten {
  /** The file position after the last byte (= `start` + the body's length). */
  readonly end: number;
}

/** Direct writes for a body (see direct-io.ts): the file opened a second time with `O_DIRECT`, from the pool's slabs. */
export interface DirectWrites {
  /** The path of the file `handle` has open. */
  readonly path: string;
  readonly slabs: SlabPool;
}

/**
 * Streams `body` into `handle` from byte `start` and resolves once every byte is written (not yet durable: the
 * caller fdatasyncs, after checking a digest if it has one). `onChunk` sees every chunk in order as it is read
 * (hashing while the body streams). The body is consumed through its `data` events, not an async iterator: no
 * promise per chunk.
 *
 * Reading and writing overlap, in one of two ways:
 * - **Direct** (with `direct`, when the pool has a slab): the chunks are copied into 1 MiB page-aligned slabs, and
 *   each full slab is written with `O_DIRECT` (the file opened a second time, only once a body outgrows its first
 *   slab) while the next one fills. A start inside a block first reads the block's head back into the slab, so
 *   every direct write is aligned; the body's last partial block goes through `handle` (the page cache), as does
 *   the whole of a body that fits in one slab. Up to {@link DIRECT_WRITES_IN_FLIGHT} slab writes run at once; then the
 *   body pauses until one returns its slab.
 * - **Through the page cache** (otherwise): the chunks are gathered into ~1 MiB batches, each written with one
 *   positional `writev`; with {@link WRITES_IN_FLIGHT} batches in flight the body is paused. Every
 *   {@link WRITE_BACK_BYTES} a background fdatasync starts the write-back of what was written so far, so that the
 *   caller's final fdatasync finds little left to do.
 *
 * Either way backpressure reaches the client and memory stays at a few MiB whatever the body's size.
 *
 * On failure (the body stream failed or closed early, a write or sync failed) the body is destroyed, and the
 * promise rejects only once no write or sync is running any more: the caller may then safely truncate the file.
 */
export async function writeBody(
  handle: FileHandle,
  body: Readable,
  start: number,
  onChunk: (chunk: Buffer) => void,
  direct?: DirectWrites,
): Promise<BodyWritten> {
  const slab = direct ? direct.slabs.acquire() : undefined;
  if (!direct || !slab) return new BodyWrite(handle, body, start, onChunk).run();
  // The slab starts at the block that holds `start`: the block's bytes before `start` are read back into it.
  const head = start % DIRECT_ALIGN;
  try {
    if (head > 0) await readFully(handle, slab.subarray(0, head), start - head);
  } catch (error) {
    direct.slabs.release(slab);
    body.destroy();
    throw error;
  }
  return new BodyWrite(handle, body, start, onChunk, { ...direct, slab, slabAt: start - head, fill: head }).run();
}

interface SlabState extends DirectWrites {
  slab: Buffer;
  /** File position of the slab's first byte (aligned). */
  slabAt: number;
  /** Bytes of the slab in use. */
  fill: number;
}

class BodyWrite {
  private position: number;
  private batch: Buffer[] = [];
  private batched = 0;
  private writing = 0;
  private unsynced = 0;
  private syncing = false;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private settled = false;
  private resolve!: (written: BodyWritten) => void;
  private reject!: (error: unknown) => void;
  private stopWatching: () => void = () => undefined;

  // Direct mode: the slab being filled (undefined while the body waits for one), where it goes, chunk
  // remainders that arrived while there was none, the direct handle (opened with the first full slab).
  private slab: Buffer | undefined;
  private slabAt = 0;
  private fill = 0;
  private overflow: Buffer[] = [];
  private directHandle: Promise<FileHandle> | undefined;
  private readonly direct: DirectWrites | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly body: Readable,
    private readonly start: number,
    private readonly onChunk: (chunk: Buffer) => void,
    slab?: SlabState,
  ) {
    this.position = start;
    if (slab) {
      this.direct = slab;
      this.slab = slab.slab;
      this.slabAt = slab.slabAt;
      this.fill = slab.fill;
    }
  }

  run(): Promise<BodyWritten> {
    return new Promise<BodyWritten>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.body.on('data', this.onData);
      // `finished` reports an error, and a close before the end (an aborted request), as a failure.
      this.stopWatching = finished(this.body, (error) => {
        if (this.failure) return;
        if (error) {
          this.fail(error);
          return;
        }
        this.ended = true;
        this.flushEnd();
      });
    });
  }

  private readonly onData = (data: unknown): void => {
    if (this.failure) return;
    let chunk: Buffer;
    try {
      chunk = toBuffer(data);
      if (chunk.length === 0) return;
      this.onChunk(chunk);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.position += chunk.length;
    if (this.direct) {
      this.copyIn(chunk);
      return;
    }
    this.batch.push(chunk);
    this.batched += chunk.length;
    if (this.batched >= WRITE_BATCH_BYTES || this.batch.length >= WRITE_BATCH_CHUNKS) this.dispatchBatch();
  };

  /** At the body's end (and once no chunk waits for a slab): writes what is left, then settles. */
  private flushEnd(): void {
    if (this.overflow.length > 0) return; // the slab that frees up copies them in, then comes back here
    if (this.direct) {
      const slab = this.slab;
      this.slab = undefined;
      // (A slab holding only the head read back for an empty body has nothing new to write.)
      if (slab && this.fill > 0 && this.position > this.start) this.writeLastSlab(slab, this.fill, this.slabAt);
      else if (slab) this.direct.slabs.release(slab);
    } else if (this.batched > 0) {
      this.dispatchBatch();
    }
    this.settle();
  }

  private settle(): void {
    // Chunks wait for a slab only while a direct write is in flight (its slab comes back for them), and a
    // failure drops them: no separate check for `overflow` is needed here.
    if (this.settled || this.writing > 0 || this.syncing || (!this.ended && !this.failure)) return;
    this.settled = true;
    this.body.off('data', this.onData);
    this.stopWatching();
    if (this.slab) this.direct?.slabs.release(this.slab);
    this.slab = undefined;
    const done = (): void => {
      if (this.failure) this.reject(this.failure.error);
      else this.resolve({ end: this.position });
    };
    const opened = this.directHandle;
    if (!opened) {
      done();
      return;
    }
    void opened
      .then((h) => h.close())
      .then(
        () => undefined,
        (error: unknown) => {
          // A direct handle that never opened already failed the body; one that does not close fails it now.
          if (!this.failure) this.failure = { error };
        },
      )
      .then(done);
  }

  private fail(error: unknown): void {
    if (!this.failure) {
      this.failure = { error };
      this.overflow = [];
      if (!this.body.destroyed) this.body.destroy();
    }
    this.settle();
  }

  /** Runs `write` as one of the body's writes in flight; `then` runs after it, failed or not. */
  private track(write: Promise<void>, then: () => void = () => undefined): void {
    this.writing += 1;
    write.then(
      () => {
        this.writing -= 1;
        then();
        this.maybeResume();
        this.settle();
      },
      (error: unknown) => {
        this.writing -= 1;
        then();
        this.fail(error);
      },
    );
  }

  private maybeResume(): void {
    if (this.failure || this.ended || !this.body.isPaused()) return;
    if (this.direct ? this.slab !== undefined && this.overflow.length === 0 : this.writing < WRITES_IN_FLIGHT) this.body.resume();
  }

  // --- through the page cache -------------------------------------------------------------------------------------

  private dispatchBatch(): void {
    const chunks = this.batch;
    const bytes = this.batched;
    const at = this.position - bytes;
    this.batch = [];
    this.batched = 0;
    this.unsynced += bytes;
    this.track(writeAll(this.handle, chunks, bytes, at));
    if (this.writing >= WRITES_IN_FLIGHT) this.body.pause();
    if (!this.syncing && this.unsynced >= WRITE_BACK_BYTES) {
      this.unsynced = 0;
      this.syncing = true;
      this.handle.datasync().then(
        () => {
          this.syncing = false;
          this.settle();
        },
        (error: unknown) => {
          this.syncing = false;
          this.fail(error);
        },
      );
    }
  }

  // --- direct -----------------------------------------------------------------------------------------------------

  /** Copies `chunk` into slabs, writing each slab that fills up; what finds no slab waits in `overflow`. */
  private copyIn(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const slab = this.slab;
      if (!slab) {
        this.overflow.push(chunk.subarray(offset));
        this.body.pause();
        return;
      }
      const copied = chunk.copy(slab, this.fill, offset);
      this.fill += copied;
      offset += copied;
      if (this.fill === SLAB_BYTES) this.dispatchSlab(slab);
    }
  }

  private dispatchSlab(slab: Buffer): void {
    const at = this.slabAt;
    this.slabAt += SLAB_BYTES;
    this.fill = 0;
    this.slab = this.writing + 1 < DIRECT_WRITES_IN_FLIGHT ? this.direct?.slabs.acquire() : undefined;
    this.track(this.writeDirect(slab, SLAB_BYTES, at), () => this.returnSlab(slab));
  }

  /** A written slab: the body's next slab if it is waiting for one (chunks in `overflow` go in first), else the pool's. */
  private returnSlab(slab: Buffer): void {
    if (this.slab || this.failure || this.settled || (this.ended && this.overflow.length === 0)) {
      this.direct?.slabs.release(slab);
      return;
    }
    this.slab = slab;
    this.fill = 0;
    const waiting = this.overflow;
    this.overflow = [];
    for (const chunk of waiting) this.copyIn(chunk);
    if (this.ended && this.overflow.length === 0) this.flushEnd();
  }

  /**
   * The last slab (`fill` bytes): its whole blocks directly, the partial block after them through the page cache.
   * A body that never filled a slab goes through the page cache whole (no direct handle for a small body).
   */
  private writeLastSlab(slab: Buffer, fill: number, at: number): void {
    const aligned = this.directHandle ? fill - (fill % DIRECT_ALIGN) : 0;
    const writes: Promise<void>[] = [];
    if (aligned > 0) writes.push(this.writeDirect(slab, aligned, at));
    if (fill > aligned) writes.push(writeFully(this.handle, slab.subarray(aligned, fill), at + aligned));
    // allSettled: the slab goes back to the pool only once neither write uses it any more.
    const both = Promise.allSettled(writes).then((results) => {
      for (const result of results) if (result.status === 'rejected') throw result.reason;
    });
    this.track(both, () => this.direct?.slabs.release(slab));
  }

  private writeDirect(slab: Buffer, bytes: number, at: number): Promise<void> {
    const direct = this.direct;
    if (!direct) return Promise.reject(new Error('no direct writes for this body'));
    if (!this.directHandle) {
      const flags = directWriteFlags();
      this.directHandle = flags === undefined ? Promise.reject(new Error('O_DIRECT is not available')) : open(direct.path, flags);
      // Observed here so that a failed open is not an unhandled rejection before `settle` looks at it.
      this.directHandle.catch(() => undefined);
    }
    return this.directHandle.then((h) => writeFully(h, slab.subarray(0, bytes), at));
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

/** Reads exactly `into.length` bytes at `position` (the head of a block being rewritten). */
async function readFully(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  let read = 0;
  while (read < into.length) {
    const { bytesRead } = await handle.read(into, read, into.length - read, position + read);
    if (bytesRead === 0) throw new Error(`the file ends before byte ${position + into.length}`);
    read += bytesRead;
  }
}
