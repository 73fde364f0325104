import { signWebhookBody, webhookSigningKey } from '@berth/events';
import { createHmac, hkdfSync } from 'node:crypto';
import { deliveryHeaders, SIGNATURE_HEADER } from './webhook-sender';

const MASTER = 'a master key of at least thirty-two characters';

describe('signatures', () => {
  it('signs with HMAC-SHA256 of the raw body under the key text, hex, prefixed sha256=', () => {
    const key = webhookSigningKey(MASTER, '3F2504E0-4F89-41D3-9A0C-0305E82C3301') ?? '';
    const body = '{"id":"e1","action":"push"}';
    expect(signWebhookBody(key, body)).toBe(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
    expect(signWebhookBody(key, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('derives the key with HKDF from the master key: stable per webhook, different across webhooks and masters', () => {
    const k = (master: string, id: string) => webhookSigningKey(master, id);
    expect(k(MASTER, 'A-1')).toBe(k(MASTER, 'a-1'));
    expect(k(MASTER, 'a-1')).not.toBe(k(MASTER, 'a-2'));
    expect(k(`${MASTER}!`, 'a-1')).not.toBe(k(MASTER, 'a-1'));
    expect(k(MASTER, 'a-1')).toBe(
      Buffer.from(hkdfSync('sha256', MASTER, 'berth-webhook-signing-v1', 'a-1', 32)).toString('base64url'),
    );
    expect(k(MASTER, 'a-1')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('cannot be computed from the webhook id alone: no master key, no key', () => {
    expect(webhookSigningKey(undefined, 'a-1')).toBeUndefined();
    expect(webhookSigningKey('', 'a-1')).toBeUndefined();
  });

  it('builds ACR headers: JSON content type unless overridden, custom headers, length, signature; no transport headers', () => {
    const key = webhookSigningKey(MASTER, 'w');
    const h = deliveryHeaders({ Authorization: 'Basic x', Host: 'evil', 'X-Berth-Signature': 'forged' }, '{}', key);
    expect(h).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Basic x',
      'Content-Length': '2',
      [SIGNATURE_HEADER]: signWebhookBody(key ?? '', '{}'),
    });
    expect(deliveryHeaders({ 'content-type': 'application/vnd.x+json' }, '{}', key)['Content-Type']).toBeUndefined();
  });

  it('sends no signature header without a signing key (never a forged one from a custom header)', () => {
    const h = deliveryHeaders({ 'X-Berth-Signature': 'forged' }, '{}', undefined);
    expect(Object.keys(h)).toEqual(['Content-Type', 'Content-Length']);
  });
});
