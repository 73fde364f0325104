import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { writeBody } from './body-writer';

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
});
