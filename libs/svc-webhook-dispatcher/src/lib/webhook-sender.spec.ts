import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SsrfGuard } from './ssrf-guard';
import { deliveryHeaders, sendWebhook, signBody, SIGNATURE_HEADER, webhookSigningKey } from './webhook-sender';

describe('signatures', () => {
  it('signs with HMAC-SHA256 of the raw body, hex, prefixed sha256=', () => {
    const key = webhookSigningKey('3F2504E0-4F89-41D3-9A0C-0305E82C3301');
    const body = '{"id":"e1","action":"push"}';
    expect(signBody(key, body)).toBe(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
    expect(signBody(key, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
  it('derives a stable key per webhook id, different across webhooks', () => {
    expect(webhookSigningKey('A-1').equals(webhookSigningKey('a-1'))).toBe(true);
    expect(webhookSigningKey('a-1').equals(webhookSigningKey('a-2'))).toBe(false);
    expect(webhookSigningKey('a-1', 'server').equals(webhookSigningKey('a-1'))).toBe(false);
  });
  it('builds ACR headers: JSON content type unless overridden, custom headers, length, signature; no transport headers', () => {
    const key = webhookSigningKey('w');
    const h = deliveryHeaders({ Authorization: 'Basic x', Host: 'evil', 'X-Berth-Signature': 'forged' }, '{}', key);
    expect(h).toEqual({ 'Content-Type': 'application/json', Authorization: 'Basic x', 'Content-Length': '2', [SIGNATURE_HEADER]: signBody(key, '{}') });
    expect(deliveryHeaders({ 'content-type': 'application/vnd.x+json' }, '{}', key)['Content-Type']).toBeUndefined();
  });
});

describe('sendWebhook', () => {
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
    const headers = deliveryHeaders({ Authorization: 'Bearer t' }, body, webhookSigningKey('w1'));
    const r = await sendWebhook(target, body, headers);
    expect(r).toMatchObject({ statusCode: 201, reasonPhrase: 'Created', body: 'ok', truncated: false });
    expect(r.headers['X-Reply']).toBe('yes');
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const got = seen.at(-1);
    expect(got?.url).toBe('/hook?x=1');
    expect(got?.body).toBe(body);
    expect(got?.headers.host).toBe(`hooks.test:${port}`);
    expect(got?.headers.authorization).toBe('Bearer t');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-berth-signature']).toBe(signBody(webhookSigningKey('w1'), body));
  });

  it('does not follow redirects', async () => {
    const before = seen.length;
    const r = await sendWebhook(await guard.vet(`http://hooks.test:${port}/redirect`), '{}', {});
    expect(r.statusCode).toBe(302);
    expect(seen.length).toBe(before + 1);
  });

  it('reads at most 64 KiB of the response', async () => {
    const r = await sendWebhook(await guard.vet(`http://hooks.test:${port}/big`), '{}', {});
    expect(r.statusCode).toBe(200);
    expect(r.truncated).toBe(true);
    expect(r.body.length).toBe(64 * 1024);
  });

  it('times out', async () => {
    const r = await sendWebhook(await guard.vet(`http://hooks.test:${port}/slow`), '{}', {}, { timeoutMs: 200 });
    expect(r.statusCode).toBeUndefined();
    expect(r.error).toMatch(/timed out after 200 ms/);
  });

  it('reports connection errors without throwing', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await sendWebhook(await guard.vet(`http://hooks.test:${p}/`), '{}', {});
    expect(r.statusCode).toBeUndefined();
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('reports invalid header values without throwing', async () => {
    const r = await sendWebhook(await guard.vet(`http://hooks.test:${port}/`), '{}', { 'X-Bad': 'a\nb' });
    expect(r.error).toMatch(/request not sent|Invalid character/);
  });
});
