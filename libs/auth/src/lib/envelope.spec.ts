import { randomBytes } from 'node:crypto';
import { MasterKeyError } from './auth.errors';
import { generateMasterKey, openSecret, parseMasterKey, sealSecret } from './envelope';

describe('master key', () => {
  it('accepts hex and base64/base64url of at least 32 bytes', () => {
    const raw = randomBytes(32);
    expect(parseMasterKey(raw.toString('hex'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('base64'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('base64url'))).toEqual(raw);
    expect(parseMasterKey(` ${generateMasterKey()}\n`)).toHaveLength(32);
  });

  it.each([['short hex', randomBytes(16).toString('hex')], ['short base64', randomBytes(31).toString('base64')], ['not base64', 'not a key!'], ['empty', '']])(
    'refuses %s without echoing the value',
    (_label, value) => {
      const err = (() => {
        try {
          parseMasterKey(value);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(MasterKeyError);
      if (value) expect((err as Error).message).not.toContain(value);
    },
  );
});

describe('secret envelopes', () => {
  const key = randomBytes(32);

  it('round-trips, never contains the plaintext, and differs on every seal', () => {
    const a = sealSecret(key, 'signing-key', 'top secret value');
    const b = sealSecret(key, 'signing-key', 'top secret value');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(a).not.toEqual(b);
    expect(a).not.toContain('secret');
    expect(Buffer.from(a.split('.')[2] ?? '', 'base64url').toString()).not.toContain('top secret');
    expect(openSecret(key, 'signing-key', a).toString()).toBe('top secret value');
  });

  it('refuses another key, another purpose, tampering and malformed envelopes', () => {
    const sealed = sealSecret(key, 'admin-password', 'pw');
    expect(() => openSecret(randomBytes(32), 'admin-password', sealed)).toThrow(MasterKeyError);
    expect(() => openSecret(key, 'signing-key', sealed)).toThrow(MasterKeyError);
    const [v, iv, body] = sealed.split('.');
    const bytes = Buffer.from(body ?? '', 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    expect(() => openSecret(key, 'admin-password', `${v}.${iv}.${bytes.toString('base64url')}`)).toThrow(MasterKeyError);
    for (const bad of ['', 'v2.a.b', 'v1.a', 'v1.AAAA.AAAA', `${sealed}.x`]) {
      expect(() => openSecret(key, 'admin-password', bad)).toThrow(MasterKeyError);
    }
  });
});
