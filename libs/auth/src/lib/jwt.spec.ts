import { createHmac, createPublicKey } from 'node:crypto';
import { exportSPKI, SignJWT, type KeyLike } from 'jose';
import { TokenInvalidError, type TokenInvalidReason } from './auth.errors';
import {
  identityAudiences,
  identityIssuer,
  managementAudiences,
  resourceOfScope,
  timeClaims,
  TOKEN_LIFETIME_SEC,
} from './claims';
import { signToken, verifyToken, type VerifyTokenOptions } from './jwt';
import { generateSigningKey, importPrivateSigningKey, importPublicSigningJwk } from './signing-key';

const ISS = 'https://berth.example';
const AUD = 'myregistry.berth.localhost';
const NOW = new Date('2026-06-01T12:00:00Z');

interface Keys {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

async function newKeys(): Promise<Keys> {
  const g = await generateSigningKey();
  return { kid: g.kid, privateKey: await importPrivateSigningKey(g.privatePkcs8), publicKey: await importPublicSigningJwk(g.publicJwk) };
}

const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('signToken / verifyToken', () => {
  let ours: Keys;
  let attacker: Keys;
  let options: VerifyTokenOptions;

  const claims = (over: Record<string, unknown> = {}) => ({
    iss: ISS,
    aud: AUD,
    sub: 'principal:0b6f2c9e-2f0a-4c47-9d3c-4a0c1f0e5b11',
    jti: 'j1',
    ...timeClaims(NOW, TOKEN_LIFETIME_SEC.registryAccess),
    berth_kind: 'registry_access',
    access: [],
    ...over,
  });

  const expectRefused = async (token: string, reason: TokenInvalidReason, opts: Partial<VerifyTokenOptions> = {}) => {
    const err = await verifyToken(token, { ...options, ...opts }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenInvalidError);
    expect((err as TokenInvalidError).reason).toBe(reason);
  };

  beforeAll(async () => {
    ours = await newKeys();
    attacker = await newKeys();
    options = {
      keys: (kid) => Promise.resolve(kid === ours.kid ? ours.publicKey : undefined),
      issuer: ISS,
      audience: AUD,
      kind: 'registry_access',
      now: NOW,
    };
  });

  it('signs with ES256, typ JWT and the kid, and verifies its own tokens', async () => {
    const token = await signToken(claims(), ours);
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: ours.kid });
    await expect(verifyToken(token, options)).resolves.toMatchObject({ aud: AUD, berth_kind: 'registry_access' });
  });

  it('accepts within the 30 s clock tolerance', async () => {
    const token = await signToken(claims(), ours);
    await verifyToken(token, { ...options, now: new Date(NOW.getTime() - 25_000) });
    await verifyToken(token, { ...options, now: new Date(NOW.getTime() + (TOKEN_LIFETIME_SEC.registryAccess + 25) * 1000) });
  });

  it('refuses an expired token', async () => {
    const token = await signToken(claims(), ours);
    await expectRefused(token, 'expired', { now: new Date(NOW.getTime() + (TOKEN_LIFETIME_SEC.registryAccess + 31) * 1000) });
  });

  it('refuses a token whose nbf is in the future', async () => {
    const nbf = Math.floor(NOW.getTime() / 1000) + 120;
    await expectRefused(await signToken(claims({ nbf, iat: nbf - 120 }), ours), 'not_yet_valid');
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const token = await signToken(claims(), ours);
    const [h, , s] = token.split('.');
    await expectRefused(`${h}.${b64(claims({ access: [{ type: 'registry', name: 'catalog', actions: ['*'] }] }))}.${s}`, 'signature');
    const sig = Buffer.from(s ?? '', 'base64url');
    sig[5] = (sig[5] ?? 0) ^ 1;
    await expectRefused(`${h}.${token.split('.')[1]}.${sig.toString('base64url')}`, 'signature');
  });

  it('refuses alg=none', async () => {
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT', kid: ours.kid })}.${b64(claims())}.`, 'algorithm');
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const pem = await exportSPKI(ours.publicKey);
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    for (const secret of [pem, der]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: ours.kid })}.${b64(claims())}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await expectRefused(token, 'algorithm');
    }
  });

  it('refuses the wrong audience, the wrong issuer and the wrong kind', async () => {
    await expectRefused(await signToken(claims({ aud: 'other.berth.localhost' }), ours), 'audience');
    await expectRefused(await signToken(claims({ aud: [AUD, 'x'] }), ours), 'audience', { audience: [AUD, 'x'] });
    await expectRefused(await signToken(claims({ iss: 'https://evil.example' }), ours), 'issuer');
    await expectRefused(await signToken(claims({ berth_kind: 'registry_refresh' }), ours), 'kind');
    await expectRefused(await signToken(claims({ berth_kind: undefined }), ours), 'kind');
  });

  it('refuses an unknown kid, and a token without kid', async () => {
    await expectRefused(await signToken(claims(), attacker), 'unknown_kid');
    const noKid = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign(ours.privateKey);
    await expectRefused(noKid, 'unknown_kid');
  });

  it('ignores a key embedded in the header (jwk), whichever kid it claims', async () => {
    const { exportJWK } = await import('jose');
    const jwk = await exportJWK(attacker.publicKey);
    const withOurKid = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: ours.kid, jwk }).sign(attacker.privateKey);
    await expectRefused(withOurKid, 'signature');
    const withItsKid = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: attacker.kid, jwk, jku: 'https://evil.example/jwks' })
      .sign(attacker.privateKey);
    await expectRefused(withItsKid, 'unknown_kid');
  });

  it('refuses tokens missing required claims and garbage', async () => {
    const { exp: _exp, ...noExp } = claims();
    await expectRefused(await signToken(noExp, ours), 'claims');
    const { sub: _sub, ...noSub } = claims();
    await expectRefused(await signToken(noSub, ours), 'claims');
    for (const junk of ['', 'a.b', 'a.b.c', '...', 'x'.repeat(20000)]) await expectRefused(junk, 'malformed');
  });
});

describe('claims helpers', () => {
  it('names issuers and audiences', () => {
    expect(identityIssuer('https://b.example/', 't1')).toBe('https://b.example/t1/v2.0');
    expect(identityAudiences('https://b.example')).toEqual([
      'https://b.example',
      'https://b.example/',
      'https://management.azure.com',
      'https://management.azure.com/',
      'https://containerregistry.azure.net',
      'https://containerregistry.azure.net/',
    ]);
    expect(managementAudiences('https://b.example')).not.toContain('https://containerregistry.azure.net');
  });

  it('reads the resource of a .default scope and refuses anything else', () => {
    expect(resourceOfScope('https://b.example/.default')).toBe('https://b.example');
    expect(resourceOfScope('https://management.azure.com//.default')).toBe('https://management.azure.com/');
    expect(resourceOfScope('https://b.example/.default openid')).toBeUndefined();
    expect(resourceOfScope('User.Read')).toBeUndefined();
    expect(resourceOfScope('/.default')).toBeUndefined();
  });
});

describe('signing keys', () => {
  it('refuses to import a private or non-EC JWK as a public key', async () => {
    const g = await generateSigningKey();
    await expect(importPublicSigningJwk({ ...g.publicJwk, d: 'AAAA' })).rejects.toThrow();
    await expect(importPublicSigningJwk({ kty: 'oct', k: 'c2VjcmV0' })).rejects.toThrow();
    expect(g.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(g.privatePkcs8).toContain('BEGIN PRIVATE KEY');
  });
});
