import { PassThrough, Readable } from 'node:stream';
import { BodyTooLargeError, readCappedBody } from './read-capped-body.util';

describe(readCappedBody.name, () => {
  it('should return every byte of a body within the cap', async () => {
    const body = Readable.from([Buffer.from('ab'), Buffer.from('cd')]);
    await expect(readCappedBody(body, 4)).resolves.toEqual(Buffer.from('abcd'));
  });

  it('should refuse a declared length over the cap without reading', async () => {
    const body = new PassThrough();
    await expect(readCappedBody(body, 4, 5)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(body.readableFlowing).toBeNull();
  });

  it('should stop at the first chunk that crosses the cap, holding no more than that', async () => {
    const body = new PassThrough();
    const result = readCappedBody(body, 4);
    body.write(Buffer.from('abc'));
    body.write(Buffer.from('de'));
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect((err as BodyTooLargeError).size).toBe(5);
    expect(body.isPaused()).toBe(true);
    body.destroy();
  });

  it('should reject when the client goes away mid-body', async () => {
    const body = new PassThrough();
    const result = readCappedBody(body, 100);
    body.write('ab');
    body.destroy();
    await expect(result).rejects.toThrow(/aborted/);
  });

  it('should refuse a body that was already consumed instead of hanging', async () => {
    const body = Readable.from([Buffer.from('x')]);
    body.resume();
    await new Promise((r) => body.once('end', r));
    await expect(readCappedBody(body, 4)).rejects.toThrow(/already consumed/);
  });
});
