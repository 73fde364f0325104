import { createHmac } from 'node:crypto';
import { deliveryHeaders, signBody, SIGNATURE_HEADER, webhookSigningKey } from './webhook-sender';

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
    expect(h).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Basic x',
      'Content-Length': '2',
      [SIGNATURE_HEADER]: signBody(key, '{}'),
    });
    expect(deliveryHeaders({ 'content-type': 'application/vnd.x+json' }, '{}', key)['Content-Type']).toBeUndefined();
  });
});
