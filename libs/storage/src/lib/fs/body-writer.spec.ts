import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { writeBody } from './body-writer';
import { DIRECT_ALIGN, probeDirectWrites, SLAB_BYTES, SlabPool } from './direct-io';

describe(writeBody.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-body-writer-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function* pieces(content: Buffer, size: number): Generator<Buffer> {
    for (let i = 0; i < content.length; i += size) yield content.subarray(i, i + size);
  }

  it('should write every byte at its position, past several batches and write-backs, and show each chunk in order', async () => {
    const file = path.join(dir, 'data');
    await writeFile(file, 'head!');
    const content = randomBytes(20 * 1024 * 1024 + 12_345);
    const seen = createHash('sha256');
    const handle = await open(file, 'r+');
    try {
      const { end } = await writeBody(handle, Readable.from(pieces(content, 64 * 1024)), 5, (chunk) => seen.update(chunk));
      expect(end).toBe(5 + content.length);
    } finally {
      await handle.close();
    }
    const stored = await readFile(file);
    expect(stored.subarray(0, 5).toString()).toBe('head!');
    expect(stored.subarray(5).equals(content)).toBe(true);
    expect(seen.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('should reject with the body stream error once nothing is in flight any more', async () => {
    const handle = await open(path.join(dir, 'data'), 'w+');
    function* broken(): Generator<Buffer> {
      yield* pieces(randomBytes(3 * 1024 * 1024), 64 * 1024);
      throw new Error('client went away');
    }
    try {
      await expect(writeBody(handle, Readable.from(broken()), 0, () => undefined)).rejects.toThrow('client went away');
    } finally {
      await handle.close();
    }
  });

  it('should reject with the write error, and stop reading the body', async () => {
    await writeFile(path.join(dir, 'data'), '');
    const handle = await open(path.join(dir, 'data'), 'r'); // read-only: every write fails (EBADF)
    const body = Readable.from(pieces(randomBytes(8 * 1024 * 1024), 64 * 1024));
    try {
      await expect(writeBody(handle, body, 0, () => undefined)).rejects.toMatchObject({ code: 'EBADF' });
      expect(body.destroyed).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('should resolve at `start` for an empty body', async () => {
    const handle = await open(path.join(dir, 'data'), 'w+');
    try {
      await expect(writeBody(handle, Readable.from([]), 7, () => undefined)).resolves.toEqual({ end: 7 });
    } finally {
      await handle.close();
    }
  });

  describe('with direct writes', () => {
    const fsPromises = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    let directOpens: number;
    let openSpy: jest.SpyInstance;

    beforeEach(async () => {
      // This machine's temporary folder must take O_DIRECT for these tests to mean anything.
      await expect(probeDirectWrites(dir, new SlabPool())).resolves.toBe(true);
      directOpens = 0;
      const realOpen = fsPromises.open;
      openSpy = jest.spyOn(fsPromises, 'open').mockImplementation(((file: string, flags?: string | number, mode?: number) => {
        if (typeof flags === 'number') directOpens += 1;
        return realOpen(file, flags, mode);
      }) as typeof fsPromises.open);
    });

    afterEach(() => openSpy.mockRestore());

    /** Chunks of irregular sizes (none a multiple of a block), as a socket delivers them. */
    function* ragged(content: Buffer): Generator<Buffer> {
      const sizes = [65_536, 7_777, 1, 100_003, 4_095, 4_097, 300_000];
      let i = 0;
      for (let at = 0; at < content.length; i++) {
        const size = sizes[i % sizes.length] as number;
        yield content.subarray(at, at + size);
        at += size;
      }
    }

    async function writeInto(file: string, start: number, content: Buffer, slabs: SlabPool, chunks: Iterable<Buffer> = ragged(content)): Promise<number> {
      const handle = await fsPromises.open(file, 'r+');
      try {
        return (await writeBody(handle, Readable.from(chunks), start, () => undefined, { path: file, slabs })).end;
      } finally {
        await handle.close();
      }
    }

    it('should write a body that starts inside a block and ends inside one, keeping the bytes before it, and give every slab back', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, 'head!');
      const slabs = new SlabPool({ slabsPerArena: 8, maxArenas: 1 });
      const content = randomBytes(5 * SLAB_BYTES + 12_345);
      await expect(writeInto(file, 5, content, slabs)).resolves.toBe(5 + content.length);
      const stored = await readFile(file);
      expect(stored.subarray(0, 5).toString()).toBe('head!');
      expect(stored.subarray(5).equals(content)).toBe(true);
      expect(directOpens).toBe(1);
      expect(slabs.available).toBe(8);
    });

    it('should append body after body at unaligned offsets, as chunked uploads do', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, '');
      const slabs = new SlabPool({ slabsPerArena: 4, maxArenas: 1 });
      const parts = [randomBytes(SLAB_BYTES + 1), randomBytes(DIRECT_ALIGN - 1), randomBytes(3), randomBytes(2 * SLAB_BYTES), randomBytes(777)];
      let end = 0;
      for (const part of parts) end = await writeInto(file, end, part, slabs);
      expect((await readFile(file)).equals(Buffer.concat(parts))).toBe(true);
      expect(slabs.available).toBe(4);
    });

    it('should write a body of exactly whole slabs, and a small body without opening the file a second time', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, '');
      const slabs = new SlabPool();
      const whole = randomBytes(2 * SLAB_BYTES);
      await writeInto(file, 0, whole, slabs, pieces(whole, 64 * 1024));
      expect(directOpens).toBe(1);
      const small = randomBytes(SLAB_BYTES - 1);
      await writeInto(file, whole.length, small, slabs);
      expect(directOpens).toBe(1);
      expect((await readFile(file)).equals(Buffer.concat([whole, small]))).toBe(true);
    });

    it('should keep going with one slab (the body waits for it) and through the page cache with none', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, '');
      const content = randomBytes(6 * SLAB_BYTES + 5);
      const one = new SlabPool({ slabsPerArena: 1, maxArenas: 1 });
      await writeInto(file, 0, content, one);
      expect(one.available).toBe(1);
      const none = new SlabPool({ slabsPerArena: 1, maxArenas: 0 });
      await writeInto(file, content.length, content, none);
      expect((await readFile(file)).equals(Buffer.concat([content, content]))).toBe(true);
    });

    it('should resolve at `start` for an empty body and leave a block it started in as it was', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, 'abc');
      const slabs = new SlabPool({ slabsPerArena: 1, maxArenas: 1 });
      await expect(writeInto(file, 3, Buffer.alloc(0), slabs, [])).resolves.toBe(3);
      expect((await readFile(file)).toString()).toBe('abc');
      expect(slabs.available).toBe(1);
    });

    it('should reject with the body error once no write is in flight, and give every slab back', async () => {
      const file = path.join(dir, 'data');
      await writeFile(file, '');
      const slabs = new SlabPool({ slabsPerArena: 4, maxArenas: 1 });
      function* broken(): Generator<Buffer> {
        yield* pieces(randomBytes(5 * SLAB_BYTES + 3), 64 * 1024);
        throw new Error('client went away');
      }
      await expect(writeInto(file, 0, Buffer.alloc(0), slabs, broken())).rejects.toThrow('client went away');
      expect(slabs.available).toBe(4);
    });
  });
});
