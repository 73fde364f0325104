import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postToVettedTarget } from './pinned-post';
import { SsrfGuard } from './ssrf-guard';

describe('postToVettedTarget', () => {
  let server: http.Server;
  let port: number;
  const seen: Array<{ url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/redirect') {
          res.writeHead(302, { Location: 'http://169.254.169.254/' }).end();
        } else if (req.url === '/big') {
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('x'.repeat(200 * 1024));
        } else if (req.url === '/slow') {
          setTimeout(() => res.writeHead(200).end('late'), 2_000).unref();
        } else {
          res.writeHead(201, 'Created', { 'X-Reply': 'yes' }).end('ok');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  // The name resolves (in the guard) to loopback; the sender must connect to that vetted address, not re-resolve.
  const guard = new SsrfGuard(['hooks.test'], (host) =>
    host === 'hooks.test' ? Promise.resolve([{ address: '127.0.0.1', family: 4 }]) : Promise.reject(new Error('no')),
  );

  it('POSTs the body to the vetted address with the Host of the URL', async () => {
    const target = await guard.vet(`http://hooks.test:${port}/hook?x=1`);
    const body = '{"action":"push"}';
    const headers = { 'Content-Type': 'application/json', Authorization: 'Bearer t', 'X-Signature': 'sig' };
    const r = await postToVettedTarget(target, body, headers);
    expect(r).toMatchObject({ statusCode: 201, reasonPhrase: 'Created', body: 'ok', truncated: false });
    expect(r.headers['X-Reply']).toBe('yes');
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const got = seen.at(-1);
    expect(got?.url).toBe('/hook?x=1');
    expect(got?.body).toBe(body);
    expect(got?.headers.host).toBe(`hooks.test:${port}`);
    expect(got?.headers.authorization).toBe('Bearer t');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-signature']).toBe('sig');
  });

  it('does not follow redirects', async () => {
    const before = seen.length;
    const r = await postToVettedTarget(await guard.vet(`http://hooks.test:${port}/redirect`), '{}', {});
    expect(r.statusCode).toBe(302);
    expect(seen.length).toBe(before + 1);
  });

  it('reads at most 64 KiB of the response', async () => {
    const r = await postToVettedTarget(await guard.vet(`http://hooks.test:${port}/big`), '{}', {});
    expect(r.statusCode).toBe(200);
    expect(r.truncated).toBe(true);
    expect(r.body.length).toBe(64 * 1024);
  });

  it('times out', async () => {
    const r = await postToVettedTarget(await guard.vet(`http://hooks.test:${port}/slow`), '{}', {}, { timeoutMs: 200 });
    expect(r.statusCode).toBeUndefined();
    expect(r.error).toMatch(/timed out after 200 ms/);
  });

  it('reports connection errors without throwing', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await postToVettedTarget(await guard.vet(`http://hooks.test:${p}/`), '{}', {});
    expect(r.statusCode).toBeUndefined();
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('reports invalid header values without throwing', async () => {
    const r = await postToVettedTarget(await guard.vet(`http://hooks.test:${port}/`), '{}', { 'X-Bad': 'a\nb' });
    expect(r.error).toMatch(/request not sent|Invalid character/);
  });
});
