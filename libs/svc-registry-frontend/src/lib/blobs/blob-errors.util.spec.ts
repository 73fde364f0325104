import { CacheUnavailableError } from '@berth/cache';
import { RegistryError } from '@berth/oci';
import { DigestMismatchError, StorageUnavailableError, UploadNotFoundError, UploadOffsetMismatchError } from '@berth/storage';
import { Readable } from 'node:stream';
import { toRegistryError } from './blob-errors.util';
import { LengthGuard } from './request-body.util';

describe(toRegistryError.name, () => {
  it.each([
    [new DigestMismatchError('sha256:a', 'sha256:b', 1), 'DIGEST_INVALID', 400],
    [new UploadNotFoundError('r', 'u'), 'BLOB_UPLOAD_UNKNOWN', 404],
    [new UploadOffsetMismatchError(5, 3), 'RANGE_INVALID', 416],
    [new StorageUnavailableError('s3', 'down'), 'UNAVAILABLE', 503],
    [new CacheUnavailableError('down'), 'UNAVAILABLE', 503],
  ])('maps %p', (err, code, status) => {
    expect(toRegistryError(err)).toMatchObject({ code, status });
  });

  it('leaves unexpected errors for the filter (500 with an id)', () => {
    const bug = new TypeError('x');
    expect(toRegistryError(bug)).toBe(bug);
  });
});

describe(LengthGuard.name, () => {
  async function consume(body: Buffer, expected: number | undefined): Promise<{ bytes: number; error?: unknown }> {
    const guard = new LengthGuard(expected);
    Readable.from([body]).pipe(guard);
    try {
      let bytes = 0;
      for await (const c of guard) bytes += (c as Buffer).length;
      return { bytes };
    } catch (error) {
      return { bytes: -1, error };
    }
  }

  it('passes a body of the declared length', async () => {
    expect(await consume(Buffer.alloc(10), 10)).toEqual({ bytes: 10 });
    expect(await consume(Buffer.alloc(10), undefined)).toEqual({ bytes: 10 });
  });

  it.each([[9], [11]])('fails SIZE_INVALID when %i bytes were declared for 10', async (declared) => {
    const r = await consume(Buffer.alloc(10), declared);
    expect(r.error).toBeInstanceOf(RegistryError);
    expect(r.error).toMatchObject({ code: 'SIZE_INVALID' });
  });
});
