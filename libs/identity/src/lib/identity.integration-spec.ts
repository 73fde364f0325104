import {
  AuthError,
  identityAudiences,
  managementAudiences,
  NULL_GUID_USERNAME,
  parseScopes,
  TokenInvalidError,
  type AuthFailureReason,
  type Subject,
} from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { migratedDatabase, stackEnv } from '@berth/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { CredentialVerifier, FAILED_LOGIN_LIMIT } from './credential-verifier.service';
import { identityContext, seedIdentityWorld, type IdentityWorld } from './identity.test-fixtures';
import { MASTER_KEY } from './identity.tokens';
import { PermissionResolver } from './permission-resolver.service';
import { RegistryDirectory } from './registry-directory.service';
import { TokenIssuer } from './token-issuer.service';
import { TokenVerifier } from './token-verifier.service';

jest.setTimeout(120_000);

const PUBLIC_URL = 'https://berth.identity.test';
const SUFFIX = 'identity.test';

describe('identity services on Postgres and Redis', () => {
  let db: { url: string; drop(): Promise<void> };
  let one: INestApplicationContext;
  let two: INestApplicationContext;
  let config: BerthConfig;
  let ds: DataSource;
  let w: IdentityWorld;

  beforeAll(async () => {
    const env = stackEnv();
    db = await migratedDatabase(env['BERTH_DATABASE_URL'] ?? '', 'identity');
    const settings = { ...env, BERTH_DATABASE_URL: db.url, BERTH_PUBLIC_URL: PUBLIC_URL, BERTH_LOGIN_SUFFIX: SUFFIX };
    ({ app: one, config } = await identityContext(settings));
    ({ app: two } = await identityContext(settings));
    ds = one.get<DataSource>(DATA_SOURCE);
    w = await seedIdentityWorld(ds, one.get<Buffer>(MASTER_KEY), SUFFIX);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db?.drop();
  });

  const ip = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
  const facts = async (ref: { id: string }) => {
    const f = await one.get(RegistryDirectory).byId(ref.id);
    if (!f) throw new Error('registry not seeded');
    return f;
  };
  const basic = (username: string, password: string, registry: { id: string }, app = one, clientIp = ip()) =>
    app.get(CredentialVerifier).verifyBasic(username, password, { registry, clientIp });
  const refusal = async (p: Promise<unknown>): Promise<AuthFailureReason> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(e instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(e)}`);
    return e.reason;
  };

  describe('RegistryDirectory', () => {
    it('finds registries by canonical login server, bare host and Host header, case-insensitively', async () => {
      const dir = one.get(RegistryDirectory);
      const login = `${w.regA1.name.toUpperCase()}.${SUFFIX.toUpperCase()}`;
      expect((await dir.forTokenRequest(login, undefined))?.id).toBe(w.regA1.id);
      expect((await dir.forTokenRequest(undefined, `${w.regA2.name}.${SUFFIX}:443`))?.id).toBe(w.regA2.id);
      expect(await dir.forTokenRequest('nosuchregistry.identity.test', undefined)).toBeUndefined();
      expect(await dir.forTokenRequest('evil.example', undefined)).toBeUndefined();
      const f = await facts(w.regA1);
      expect(f.canonicalLoginServer).toBe(`${w.regA1.name.toLowerCase()}.${SUFFIX}`);
      expect(f.tenantId).toBe(w.tenantA);
    });
  });

  describe('CredentialVerifier', () => {
    it('verifies a service principal by client id and secret, and refuses a wrong, disabled or expired one', async () => {
      const { spA, spDisabled, spExpired } = w.principals;
      await expect(basic(spA.clientId.toUpperCase(), spA.secret, w.regA1)).resolves.toEqual({
        kind: 'principal',
        principalId: spA.id,
        tenantId: w.tenantA,
      });
      expect(await refusal(basic(spA.clientId, `${spA.secret}x`, w.regA1))).toBe('invalid');
      expect(await refusal(basic(spDisabled.clientId, spDisabled.secret, w.regA1))).toBe('disabled');
      expect(await refusal(basic(spExpired.clientId, spExpired.secret, w.regA1))).toBe('expired');
      expect(await refusal(basic(randomUUID(), 'whatever', w.regA1))).toBe('invalid');
    });

    it("never accepts another tenant's principal", async () => {
      const { spB } = w.principals;
      expect(await refusal(basic(spB.clientId, spB.secret, w.regA1))).toBe('invalid');
      await expect(basic(spB.clientId, spB.secret, w.regB)).resolves.toMatchObject({ kind: 'principal', principalId: spB.id });
    });

    it('verifies a user by user principal name', async () => {
      await expect(basic(w.upnA.toUpperCase(), w.principals.userA.secret, w.regA1)).resolves.toMatchObject({ principalId: w.principals.userA.id });
      expect(await refusal(basic(w.upnA, 'nope', w.regA1))).toBe('invalid');
    });

    it('verifies the admin user with either password while enabled, and refuses it while disabled', async () => {
      for (const pw of w.adminPasswords) {
        await expect(basic(w.regA1.name.toLowerCase(), pw, w.regA1)).resolves.toEqual({ kind: 'admin', registryId: w.regA1.id });
      }
      expect(await refusal(basic(w.regA1.name, 'wrong', w.regA1))).toBe('invalid');
      expect(await refusal(basic(w.regA2.name, w.adminPasswords[0], w.regA2))).toBe('disabled');
      // regA1's admin name and password mean nothing on another registry.
      expect(await refusal(basic(w.regA1.name, w.adminPasswords[0], w.regB))).toBe('invalid');
    });

    it('verifies repository tokens: enabled with a live password; refuses disabled, expired, foreign', async () => {
      const { tok, tokDisabled } = w.tokens;
      await expect(basic(tok.name.toUpperCase(), tok.password1, w.regA1)).resolves.toEqual({
        kind: 'token',
        tokenId: tok.id,
        registryId: w.regA1.id,
      });
      expect(await refusal(basic(tok.name, tok.password2, w.regA1))).toBe('expired');
      expect(await refusal(basic(tokDisabled.name, tokDisabled.password1, w.regA1))).toBe('disabled');
      expect(await refusal(basic(tok.name, tok.password1, w.regA2))).toBe('invalid');
      expect(await refusal(basic(tok.name, 'wrong', w.regA1))).toBe('invalid');
    });

    it('accepts the null GUID with a refresh token of the same registry only, re-checking its subject', async () => {
      const issuer = one.get(TokenIssuer);
      const refresh = await issuer.issueRegistryRefreshToken({ kind: 'admin', registryId: w.regA1.id }, await facts(w.regA1));
      await expect(basic(NULL_GUID_USERNAME, refresh.token, w.regA1)).resolves.toEqual({ kind: 'admin', registryId: w.regA1.id });
      expect(await refusal(basic(NULL_GUID_USERNAME, refresh.token, w.regA2))).toBe('invalid');
      expect(await refusal(basic(NULL_GUID_USERNAME, `${refresh.token}x`, w.regA1))).toBe('invalid');

      const tokenRefresh = await issuer.issueRegistryRefreshToken(
        { kind: 'token', tokenId: w.tokens.tokDisabled.id, registryId: w.regA1.id },
        await facts(w.regA1),
      );
      expect(await refusal(two.get(CredentialVerifier).verifyRefreshToken(tokenRefresh.token, w.regA1))).toBe('disabled');
    });

    it('throttles failed logins per username and address across processes sharing Redis', async () => {
      const { spA } = w.principals;
      const addr = ip();
      for (let i = 0; i < FAILED_LOGIN_LIMIT; i++) {
        expect(await refusal(basic(spA.clientId, 'bad', w.regA1, i % 2 ? one : two, addr))).toBe('invalid');
      }
      const err = await basic(spA.clientId, spA.secret, w.regA1, two, addr).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).reason).toBe('throttled');
      expect((err as AuthError).retryAfterSec).toBeGreaterThan(0);
      expect((err as AuthError).retryAfterSec).toBeLessThanOrEqual(300);
      expect(await refusal(basic(spA.clientId.toUpperCase(), spA.secret, w.regA1, one, addr))).toBe('throttled');
      // Another address, or another username from the same address, is unaffected.
      await expect(basic(spA.clientId, spA.secret, w.regA1, one, ip())).resolves.toMatchObject({ kind: 'principal' });
      await expect(basic(w.upnA, w.principals.userA.secret, w.regA1, one, addr)).resolves.toMatchObject({ kind: 'principal' });
    });
  });

  describe('PermissionResolver', () => {
    const everything = parseScopes('repository:app:pull,push,delete,metadata_read,metadata_write registry:catalog:* repository:team/x:push,pull');
    const grant = (subject: Subject, registry: { id: string }) => one.get(PermissionResolver).grant(subject, registry, everything);
    const principal = (p: { id: string }, tenantId = w.tenantA): Subject => ({ kind: 'principal', principalId: p.id, tenantId });

    it('applies role assignments at subscription, resource group and registry scope', async () => {
      const pull = [
        { type: 'repository', name: 'app', actions: ['pull', 'metadata_read'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'team/x', actions: ['pull'] },
      ];
      // AcrPull on the subscription: every registry of it.
      expect(await grant(principal(w.principals.spA), w.regA1)).toEqual(pull);
      expect(await grant(principal(w.principals.spA), w.regA2)).toEqual(pull);
      // AcrPush on regA1 only.
      expect(await grant(principal(w.principals.userA), w.regA1)).toEqual([
        { type: 'repository', name: 'app', actions: ['pull', 'push', 'metadata_read', 'metadata_write'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'team/x', actions: ['push', 'pull'] },
      ]);
      expect(await grant(principal(w.principals.userA), w.regA2)).toEqual([]);
      // Contributor on rg1 (assigned with other letter case): everything on regA1, nothing on regA2 in rg2.
      expect(await grant(principal(w.principals.spRg), w.regA1)).toEqual(everything);
      expect(await grant(principal(w.principals.spRg), w.regA2)).toEqual([]);
      // A disabled principal's assignments count for nothing.
      expect(await grant(principal(w.principals.spDisabled), w.regA1)).toEqual([]);
    });

    it('never crosses tenants or registries', async () => {
      // Tenant B's Owner (even with an assignment written on tenant A's subscription) gets nothing on tenant A.
      expect(await grant(principal(w.principals.spB, w.tenantB), w.regA1)).toEqual([]);
      expect(await grant(principal(w.principals.spB, w.tenantB), w.regB)).toEqual(everything);
      expect(await grant(principal(w.principals.spA), w.regB)).toEqual([]);
      expect(await grant({ kind: 'admin', registryId: w.regA1.id }, w.regA2)).toEqual([]);
      expect(await grant({ kind: 'token', tokenId: w.tokens.tok.id, registryId: w.regA1.id }, w.regA2)).toEqual([]);
      expect(await grant({ kind: 'token', tokenId: w.tokens.tok.id, registryId: w.regA2.id }, w.regA2)).toEqual([]);
      expect(await grant(principal(w.principals.spA), { id: randomUUID() })).toEqual([]);
    });

    it('gives the admin user everything while enabled, tokens their scope map, anonymous pull where it applies', async () => {
      expect(await grant({ kind: 'admin', registryId: w.regA1.id }, w.regA1)).toEqual(everything);
      expect(await grant({ kind: 'admin', registryId: w.regA2.id }, w.regA2)).toEqual([]);
      expect(await grant({ kind: 'token', tokenId: w.tokens.tok.id, registryId: w.regA1.id }, w.regA1)).toEqual([
        { type: 'repository', name: 'app', actions: ['pull', 'metadata_read'] },
        { type: 'repository', name: 'team/x', actions: ['push'] },
      ]);
      expect(await grant({ kind: 'token', tokenId: w.tokens.tokDisabled.id, registryId: w.regA1.id }, w.regA1)).toEqual([]);
      expect(await grant({ kind: 'anonymous' }, w.regA1)).toEqual([
        { type: 'repository', name: 'app', actions: ['pull', 'metadata_read'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'team/x', actions: ['pull'] },
      ]);
      expect(await grant({ kind: 'anonymous' }, w.regA2)).toEqual([]);
      expect(await grant({ kind: 'anonymous' }, w.regBasic)).toEqual([]);
    });

    it('answers control-plane questions for the management API', async () => {
      const may = one.get(PermissionResolver);
      const regA1 = (await facts(w.regA1)).armId;
      const regA2 = (await facts(w.regA2)).armId;
      expect(await may.principalMay(w.principals.spRg.id, regA1, 'write')).toBe(true);
      expect(await may.principalMay(w.principals.spRg.id, regA1.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'), 'delete')).toBe(true);
      expect(await may.principalMay(w.principals.spRg.id, regA1, 'roleAssignments')).toBe(false);
      expect(await may.principalMay(w.principals.spRg.id, regA2, 'read')).toBe(false);
      expect(await may.principalMay(w.principals.spRg.id, `/subscriptions/${w.subA}`, 'read')).toBe(false);
      expect(await may.principalMay(w.principals.spA.id, regA1, 'read')).toBe(false);
      expect(await may.principalMay(w.principals.spB.id, `/subscriptions/${w.subB}/resourceGroups/x`, 'roleAssignments')).toBe(true);
      expect(await may.principalMay(w.principals.spB.id, `/subscriptions/${w.subA}`, 'read')).toBe(false);
      expect(await may.principalMay(w.principals.spDisabled.id, regA1, 'read')).toBe(false);
      expect(await may.principalMay(w.principals.spB.id, '/providers/Microsoft.ContainerRegistry', 'read')).toBe(false);
    });
  });

  describe('TokenIssuer / TokenVerifier', () => {
    it('issues registry tokens bound to one registry (aud and rid)', async () => {
      const issuer = one.get(TokenIssuer);
      const verifier = two.get(TokenVerifier);
      const subject: Subject = { kind: 'principal', principalId: w.principals.spA.id, tenantId: w.tenantA };
      const access = [{ type: 'repository', name: 'app', actions: ['pull'] }];
      const { token, expiresInSec } = await issuer.issueRegistryAccessToken(subject, await facts(w.regA1), access);
      expect(expiresInSec).toBe(600);
      const { claims, subject: back } = await verifier.verifyRegistryAccessToken(token, w.regA1);
      expect(back).toEqual(subject);
      expect(claims).toMatchObject({
        iss: PUBLIC_URL,
        aud: `${w.regA1.name.toLowerCase()}.${SUFFIX}`,
        sub: `principal:${w.principals.spA.id}`,
        grant_type: 'access_token',
        version: '1.0',
        tenant: w.tenantA,
        rid: w.regA1.id,
        access,
        roles: [],
        berth_kind: 'registry_access',
      });
      expect(claims.exp - claims.iat).toBe(600);
      const reason = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as TokenInvalidError).reason;
      expect(await reason(verifier.verifyRegistryAccessToken(token, w.regA2))).toBe('audience');
      expect(await reason(verifier.verifyRegistryRefreshToken(token, w.regA1))).toBe('kind');

      const refresh = await issuer.issueRegistryRefreshToken(subject, await facts(w.regA1));
      expect(refresh.expiresInSec).toBe(3 * 3600);
      const r = await verifier.verifyRegistryRefreshToken(refresh.token, w.regA1);
      expect(r.claims).toMatchObject({ grant_type: 'refresh_token', permissions: { actions: ['*'], notActions: [] }, rid: w.regA1.id });
      expect(await reason(verifier.verifyRegistryAccessToken(refresh.token, w.regA1))).toBe('kind');
    });

    it('verifies identity tokens for accepted audiences of enabled principals of the issuing tenant', async () => {
      const issuer = one.get(TokenIssuer);
      const verifier = two.get(TokenVerifier);
      const { spRg } = w.principals;
      const req = { tenantId: w.tenantA, principalId: spRg.id, clientId: spRg.clientId, idtyp: 'app' as const, audience: PUBLIC_URL };
      const { token, expiresInSec } = await issuer.issueIdentityToken(req);
      expect(expiresInSec).toBe(3600);
      await expect(verifier.verifyIdentityToken(token, managementAudiences(config.http.publicUrl))).resolves.toEqual({
        tenantId: w.tenantA,
        principalId: spRg.id,
        clientId: spRg.clientId,
        kind: 'ServicePrincipal',
        audience: PUBLIC_URL,
      });
      const acr = await issuer.issueIdentityToken({ ...req, audience: 'https://containerregistry.azure.net' });
      await expect(verifier.verifyIdentityToken(acr.token, managementAudiences(PUBLIC_URL))).rejects.toMatchObject({ reason: 'audience' });
      await expect(verifier.verifyIdentityToken(acr.token, identityAudiences(PUBLIC_URL))).resolves.toMatchObject({ principalId: spRg.id });
      // Claiming another tenant changes the expected issuer; a principal of another tenant is refused.
      const wrongTenant = await issuer.issueIdentityToken({ ...req, tenantId: w.tenantB });
      await expect(verifier.verifyIdentityToken(wrongTenant.token, identityAudiences(PUBLIC_URL))).rejects.toBeInstanceOf(TokenInvalidError);
      const registryToken = await issuer.issueRegistryRefreshToken({ kind: 'admin', registryId: w.regA1.id }, await facts(w.regA1));
      await expect(verifier.verifyIdentityToken(registryToken.token, identityAudiences(PUBLIC_URL))).rejects.toBeInstanceOf(TokenInvalidError);
      // Disabling the principal invalidates its identity tokens at once.
      await ds.query(`UPDATE principals SET enabled = false WHERE id = $1`, [spRg.id]);
      try {
        await expect(verifier.verifyIdentityToken(token, identityAudiences(PUBLIC_URL))).rejects.toBeInstanceOf(TokenInvalidError);
      } finally {
        await ds.query(`UPDATE principals SET enabled = true WHERE id = $1`, [spRg.id]);
      }
    });
  });
});
