/**
 * Cuts a byte stream into parts of exactly `partSize` bytes while holding at most one partial part. Small
 * chunks are copied into a buffer of 256 KiB first (so a 3-byte append does not allocate a whole part); once that
 * is not enough the buffer becomes a whole part at once, so each byte of a large upload is copied once, not again
 * at every doubling. A chunk that covers a whole part on its own is passed through without a copy.
 */
export class PartCutter {
  private buffer: Buffer | undefined;
  private filled = 0;
  /** Whole-part buffers this cutter allocated (only those may come back through `recycle`). */
  private readonly own = new WeakSet<Buffer>();
  /** One whole-part buffer handed back by the consumer, used before allocating another. */
  private spare: Buffer | undefined;

  constructor(private readonly partSize: number) {
    if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new RangeError('partSize must be a positive integer');
  }

  /** Bytes held that do not yet form a whole part. */
  get pending(): number {
    return this.filled;
  }

  /** Takes `chunk` in and returns the whole parts it completed, in order (usually none or one). */
  push(chunk: Buffer): Buffer[] {
    const parts: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const remaining = chunk.length - offset;
      if (this.filled === 0 && remaining >= this.partSize) {
        parts.push(chunk.subarray(offset, offset + this.partSize));
        offset += this.partSize;
        continue;
      }
      const take = Math.min(this.partSize - this.filled, remaining);
      this.reserve(this.filled + take);
      chunk.copy(this.requireBuffer(), this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.partSize) {
        parts.push(this.requireBuffer());
        this.buffer = undefined;
        this.filled = 0;
      }
    }
    return parts;
  }

  /**
   * Gives a part returned by `push` back once the consumer is completely done with it (uploaded, no reference
   * kept), so the next part reuses its memory: a long upload then cycles through two part buffers instead of
   * leaving one part of garbage behind per part. Parts that are views of the caller's chunks are ignored.
   */
  recycle(part: Buffer): void {
    if (this.own.has(part) && part.length === this.partSize && part !== this.buffer) this.spare = part;
  }

  /** Returns the held bytes (fewer than a part, possibly none) and resets. */
  flush(): Buffer {
    const out = this.buffer ? this.buffer.subarray(0, this.filled) : Buffer.alloc(0);
    this.buffer = undefined;
    this.filled = 0;
    return out;
  }

  private reserve(needed: number): void {
    const capacity = this.buffer?.length ?? 0;
    if (needed <= capacity) return;
    let next = capacity === 0 ? Math.max(256 * 1024, needed) : this.partSize;
    if (next > this.partSize) next = this.partSize;
    let grown: Buffer;
    if (next === this.partSize && this.spare) {
      grown = this.spare;
      this.spare = undefined;
    } else {
      grown = Buffer.allocUnsafe(next);
      if (next === this.partSize) this.own.add(grown);
    }
    if (this.buffer) this.buffer.copy(grown, 0, 0, this.filled);
    this.buffer = grown;
  }

  private requireBuffer(): Buffer {
    if (!this.buffer) throw new Error('PartCutter: no buffer');
    return this.buffer;
  }
}
