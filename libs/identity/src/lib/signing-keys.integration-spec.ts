import { openSecret, signToken, verifyToken, type PublicSigningJwk } from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import { migratedDatabase, stackEnv } from '@berth/testing';
import type { INestApplicationContext } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { identityContext } from './identity.test-fixtures';
import { ENVELOPE_PURPOSE, MASTER_KEY } from './identity.tokens';
import { KEY_LIFECYCLE, SigningKeys } from './signing-keys.service';

jest.setTimeout(60_000);

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

/** Key lifecycle on the real Postgres, with explicit clocks (each test's instants are far apart). */
describe('SigningKeys', () => {
  let db: { url: string; drop(): Promise<void> };
  let a: INestApplicationContext;
  let b: INestApplicationContext;
  let ds: DataSource;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'signingkeys');
    a = (await identityContext({ ...env, BERTH_DATABASE_URL: db.url })).app;
    b = (await identityContext({ ...env, BERTH_DATABASE_URL: db.url })).app;
    ds = a.get<DataSource>(DATA_SOURCE);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const rows = () =>
    ds.query(`SELECT kid, private_key, activated_at, retired_at, expires_at FROM signing_keys ORDER BY created_at`) as Promise<
      Array<{ kid: string; private_key: string; activated_at: Date; retired_at: Date | null; expires_at: Date | null }>
    >;

  it('creates exactly one key when two processes rotate at once, and stores its private key encrypted', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    await Promise.all([a.get(SigningKeys).rotateIfDue(t0), b.get(SigningKeys).rotateIfDue(t0), a.get(SigningKeys).rotateIfDue(t0)]);
    const [key, ...more] = await rows();
    expect(more).toEqual([]);
    expect(key?.private_key).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(key?.private_key).not.toContain('PRIVATE KEY');
    const pem = openSecret(a.get<Buffer>(MASTER_KEY), ENVELOPE_PURPOSE.signingKey, key?.private_key ?? '').toString();
    expect(pem).toContain('BEGIN PRIVATE KEY');
    const jwks = await a.get(SigningKeys).jwks(t0);
    expect(jwks.keys).toHaveLength(1);
    const jwk = jwks.keys[0] as PublicSigningJwk & { d?: string };
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key?.kid });
    expect(jwk.d).toBeUndefined();
    expect((await a.get(SigningKeys).currentSigner(t0)).kid).toBe(key?.kid);
  });

  it('rotates with overlap: pre-publishes the successor, switches at the period end, keeps the old key verifying for 4 h', async () => {
    const keysA = a.get(SigningKeys);
    const keysB = b.get(SigningKeys);
    const [first] = await rows();
    const t0 = first?.activated_at ?? new Date();
    const at = (ms: number) => new Date(t0.getTime() + ms);

    // Nothing is due in the first 29 days.
    await keysA.rotateIfDue(at(28 * DAY));
    expect(await rows()).toHaveLength(1);

    // 24 h before the end: the successor is created and published, but does not sign yet.
    await keysA.rotateIfDue(at(29 * DAY));
    const [, next] = await rows();
    expect(next?.activated_at.getTime()).toBe(at(KEY_LIFECYCLE.signingPeriodMs).getTime());
    expect((await keysA.jwks(at(29 * DAY))).keys.map((k) => k.kid).sort()).toEqual([first?.kid, next?.kid].sort());
    const old = await keysA.currentSigner(at(29 * DAY + HOUR));
    expect(old.kid).toBe(first?.kid);
    const oldToken = await signToken(
      { iss: 'i', aud: 'a', sub: 's', iat: Math.floor(at(30 * DAY - HOUR).getTime() / 1000), nbf: Math.floor(at(30 * DAY - HOUR).getTime() / 1000), exp: Math.floor(at(30 * DAY + 3 * HOUR).getTime() / 1000), berth_kind: 'registry_access' },
      old,
    );

    // Rotating again before the end changes nothing (idempotent).
    await keysB.rotateIfDue(at(29 * DAY + 2 * HOUR));
    expect(await rows()).toHaveLength(2);

    // After the period ends the successor signs (even in a process that has not rotated), and the old key is retired.
    expect((await keysB.currentSigner(at(30 * DAY + 60_000))).kid).toBe(next?.kid);
    await keysB.rotateIfDue(at(30 * DAY + 60_000));
    const [retired] = await rows();
    expect(retired?.retired_at?.getTime()).toBe(at(30 * DAY).getTime());
    expect(retired?.expires_at?.getTime()).toBe(at(30 * DAY + KEY_LIFECYCLE.retiredGraceMs).getTime());

    // A token the old key signed still verifies during the grace period, then its key leaves the JWKS.
    const verify = (now: Date) =>
      verifyToken(oldToken, { keys: (kid) => keysB.publicKey(kid, now), issuer: 'i', audience: 'a', kind: 'registry_access', now });
    await expect(verify(at(30 * DAY + 2 * HOUR))).resolves.toMatchObject({ sub: 's' });
    expect((await keysB.jwks(at(30 * DAY + 5 * HOUR))).keys.map((k) => k.kid)).toEqual([next?.kid]);
    await expect(keysB.publicKey(first?.kid ?? '', at(30 * DAY + 5 * HOUR))).resolves.toBeUndefined();
  });

  it('replaces an active key that does not open with a changed master key; the old one still verifies', async () => {
    const now = new Date('2030-02-10T00:00:00Z');
    const before = (await a.get(SigningKeys).currentSigner(now)).kid;
    const other = await identityContext({ ...stackEnv(), BERTH_DATABASE_URL: db.url, BERTH_MASTER_KEY: 'ab'.repeat(32) });
    try {
      const replaced = await other.app.get(SigningKeys).currentSigner(now);
      expect(replaced.kid).not.toBe(before);
      const kids = (await a.get(SigningKeys).jwks(now)).keys.map((k) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([before, replaced.kid]));
      const token = await signToken({ iss: 'i', aud: 'a', sub: 's', iat: 1, nbf: 1, exp: 4102444800, berth_kind: 'registry_access' }, replaced);
      const keys = a.get(SigningKeys);
      await expect(verifyToken(token, { keys: (kid) => keys.publicKey(kid, new Date(now.getTime() + 10_000)), issuer: 'i', audience: 'a', kind: 'registry_access', now })).resolves.toMatchObject({ sub: 's' });
      // Once replaced, the new key opens: signing later (cache expired) creates no further key.
      const count = (await rows()).length;
      await other.app.get(SigningKeys).currentSigner(new Date(now.getTime() + 120_000));
      expect(await rows()).toHaveLength(count);
    } finally {
      await other.app.close();
    }
  });

  it('re-reads the key set for an unknown kid at most once per 5 s', async () => {
    const keys = b.get(SigningKeys);
    const now = new Date('2030-03-01T00:00:00Z');
    await keys.publicKey('warm-up', now);
    const spy = jest.spyOn(keys, 'jwks');
    for (let i = 0; i < 20; i++) await keys.publicKey(`made-up-${i}`, new Date(now.getTime() + 1000));
    expect(spy).toHaveBeenCalledTimes(0);
    await keys.publicKey('made-up-late', new Date(now.getTime() + KEY_LIFECYCLE.unknownKidRefreshMs));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });
});
