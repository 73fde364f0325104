/** Beyond this many held chunks (a body of tiny chunks), they are merged into one, so that the list stays short. */
const MAX_HELD_CHUNKS = 1024;

/**
 * Cuts a byte stream into parts of exactly `partSize` bytes while holding at most one partial part. The chunks of a
 * partial part are held as they came (not copied), and copied once, into a buffer of exactly the size needed, when
 * they complete a part or are flushed: a 1 MiB blob costs 1 MiB, not a whole part's buffer (which made every small
 * upload allocate `partSize`). A chunk that covers a whole part on its own is passed through without a copy. Chunks
 * must not be modified after they were pushed (stream chunks never are).
 */
export class PartCutter {
  private held: Buffer[] = [];
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
      this.held.push(take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      this.filled += take;
      offset += take;
      if (this.filled === this.partSize) {
        const part = this.spare ?? this.allocatePart();
        this.spare = undefined;
        parts.push(this.gather(part));
      } else if (this.held.length > MAX_HELD_CHUNKS) {
        this.held = [Buffer.concat(this.held, this.filled)];
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
    if (this.own.has(part) && part.length === this.partSize) this.spare = part;
  }

  /** Returns the held bytes (fewer than a part, possibly none) and resets. */
  flush(): Buffer {
    if (this.filled === 0) return Buffer.alloc(0);
    if (this.held.length === 1) {
      const only = this.held[0] as Buffer;
      this.held = [];
      this.filled = 0;
      return only;
    }
    return this.gather(Buffer.allocUnsafe(this.filled));
  }

  private allocatePart(): Buffer {
    const part = Buffer.allocUnsafe(this.partSize);
    this.own.add(part);
    return part;
  }

  /** Copies the held chunks into `into` (exactly `filled` bytes long) and resets. */
  private gather(into: Buffer): Buffer {
    let position = 0;
    for (const chunk of this.held) position += chunk.copy(into, position);
    this.held = [];
    this.filled = 0;
    return into;
  }
}
