import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Direct I/O (`O_DIRECT`) for large upload bodies: their bytes go from Berth's memory to the disk without being
 * copied into the page cache first. On a busy host that copy (allocating, filling and later writing back fresh cache
 * pages) costs more CPU than receiving and hashing the bytes, and the write-back a durable commit must wait for
 * anyway is already done when the writes return; the pages of a blob just pushed do not push hotter data out of
 * the cache either.
 *
 * A direct write must start at a file offset, have a length and come from a memory address that are all multiples
 * of the device's block size. {@link DIRECT_ALIGN} (4 KiB) is a multiple of every block size Linux supports below
 * a page. Node gives no control over the address of a Buffer, but the memory of a `WebAssembly.Memory` starts on a
 * page boundary: the {@link SlabPool} carves its slabs out of such memories. Whether a filesystem takes direct writes
 * at all (tmpfs before Linux 6.6, some network filesystems do not) is {@link probeDirectWrites | probed} once.
 */

/** Alignment of direct writes: file offset, length and memory address. */
export const DIRECT_ALIGN = 4096;
/** Size of one slab: the unit of a direct write. */
export const SLAB_BYTES = 1024 * 1024;
/** WebAssembly memory pages are 64 KiB. */
const WASM_PAGE = 64 * 1024;

/** The one WebAssembly API used here (the project's TypeScript libs do not declare it); absent under `--jitless`. */
interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number }): { readonly buffer: ArrayBuffer };
}
function wasmMemory(): WasmMemoryConstructor | undefined {
  return (globalThis as { WebAssembly?: { Memory?: WasmMemoryConstructor } }).WebAssembly?.Memory;
}

export interface SlabPoolOptions {
  /** Slabs per arena (one WebAssembly.Memory each). Default 8 (8 MiB). */
  readonly slabsPerArena?: number;
  /** Arenas at most; once all their slabs are taken, `acquire` answers undefined. Default 4 (32 MiB in all). */
  readonly maxArenas?: number;
}

/**
 * Page-aligned buffers of {@link SLAB_BYTES} for direct writes, made on demand in arenas and kept for reuse (an
 * arena is never given back: at most `slabsPerArena × maxArenas` bytes). When every slab is taken, `acquire`
 * answers undefined and the caller writes through the page cache instead: the pool bounds memory, never progress.
 */
export class SlabPool {
  private readonly free: Buffer[] = [];
  private readonly slabsPerArena: number;
  private readonly maxArenas: number;
  private arenas = 0;

  constructor(options: SlabPoolOptions = {}) {
    this.slabsPerArena = options.slabsPerArena ?? 8;
    this.maxArenas = options.maxArenas ?? 4;
  }

  /** A slab for the caller's exclusive use until it calls `release`, or undefined when all are taken. */
  acquire(): Buffer | undefined {
    if (this.free.length === 0 && this.arenas < this.maxArenas) this.grow();
    return this.free.pop();
  }

  release(slab: Buffer): void {
    this.free.push(slab);
  }

  /** Slabs free for `acquire` right now, without making a new arena. */
  get available(): number {
    return this.free.length + (this.maxArenas - this.arenas) * this.slabsPerArena;
  }

  private grow(): void {
    const pages = (this.slabsPerArena * SLAB_BYTES) / WASM_PAGE;
    const Memory = wasmMemory();
    if (!Memory) return;
    const arena = Buffer.from(new Memory({ initial: pages, maximum: pages }).buffer);
    this.arenas += 1;
    for (let i = this.slabsPerArena - 1; i >= 0; i--) this.free.push(arena.subarray(i * SLAB_BYTES, (i + 1) * SLAB_BYTES));
  }
}

/** Open flags of a file's second, direct handle (the file exists: the first handle created it). */
export function directWriteFlags(): number | undefined {
  const direct = (fsConstants as { O_DIRECT?: number }).O_DIRECT;
  return direct === undefined ? undefined : fsConstants.O_WRONLY | direct;
}

/**
 * Whether the filesystem of `dir` takes direct writes from the pool's slabs: writes one aligned block into a
 * scratch file there (removed again). False where the platform has no `O_DIRECT` or no WebAssembly (`--jitless`),
 * or the filesystem refuses the open or the write.
 */
export async function probeDirectWrites(dir: string, slabs: SlabPool): Promise<boolean> {
  const flags = directWriteFlags();
  if (flags === undefined || !wasmMemory()) return false;
  let slab: Buffer | undefined;
  try {
    slab = slabs.acquire();
  } catch {
    return false;
  }
  if (!slab) return false;
  const file = path.join(dir, `.direct-write-probe-${randomUUID()}`);
  try {
    const handle = await open(file, flags | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    try {
      slab.fill(0, 0, 2 * DIRECT_ALIGN);
      const { bytesWritten } = await handle.write(slab, 0, 2 * DIRECT_ALIGN, 0);
      return bytesWritten === 2 * DIRECT_ALIGN;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  } finally {
    slabs.release(slab);
    await rm(file, { force: true }).catch(() => undefined);
  }
}
