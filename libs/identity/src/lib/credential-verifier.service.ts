import { Inject, Injectable } from '@nestjs/common';
import { AuthError, NULL_GUID_USERNAME, TokenInvalidError, verifySecret, type Subject } from '@berth/auth';
import { CACHE_STORE, type CacheStore } from '@berth/cache';
import { DATA_SOURCE } from '@berth/db';
import { ROOT_LOGGER } from '@berth/platform';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { RegistryFacts, RegistryIdRef } from './registry-facts';
import { RegistryDirectory } from './registry-directory.service';
import { TokenVerifier } from './token-verifier.service';

/** Failed logins per (username, client address) allowed within the window before further attempts are refused. */
export const FAILED_LOGIN_LIMIT = 10;
export const FAILED_LOGIN_WINDOW_SEC = 5 * 60;
/** Successful verifications are reused in memory this long (a disabled credential stops working within it). */
const SUCCESS_CACHE_MS = 60 * 1000;
const MAX_SUCCESS_CACHE = 10000;

/** A hash in the stored format that never matches: unknown users cost as much time as known ones. */
const DUMMY_HASH = `scrypt$32768$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BasicContext {
  registry: RegistryIdRef;
  /** The client's address (for throttling failed logins). */
  clientIp: string;
}

/**
 * Verifies Basic credentials for a registry (Docker login, `GET /oauth2/token`, Basic on /v2):
 * - the null GUID with a registry refresh token of this registry as the password;
 * - a service principal (client id + secret) or a user (UPN + password) of the registry's tenant;
 * - the admin user (the registry name, `password` or `password2`) while enabled;
 * - a repository-scoped token of this registry (token name + password1/password2) while enabled and unexpired.
 * Failures count per (lower-case username, client address) in the cache store shared by every process;
 * after 10 in 5 minutes further attempts are refused as `throttled` without checking. Nothing here logs a
 * password, secret or token.
 */
@Injectable()
export class CredentialVerifier {
  private readonly successes = new Map<string, { at: number; subject: Subject }>();

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CACHE_STORE) private readonly cache: CacheStore,
    @Inject(ROOT_LOGGER) private readonly rootLogger: Logger,
    private readonly registries: RegistryDirectory,
    private readonly tokens: TokenVerifier,
  ) {}

  async verifyBasic(username: string, password: string, context: BasicContext): Promise<Subject> {
    const registryOf = async (): Promise<RegistryFacts> => {
      const registry = await this.registries.byId(context.registry.id);
      if (!registry) throw new AuthError('invalid', 'invalid credentials');
      return registry;
    };
    return this.throttled(
      username,
      context.clientIp,
      `${context.registry.id}\u0000${username}\u0000${password}`,
      context.registry.id,
      async () => {
        if (!username || !password) throw new AuthError('invalid', 'invalid credentials');
        return this.check(username, password, await registryOf());
      },
      async (subject) => this.assertStillValid(subject, await registryOf()),
    );
  }

  /**
   * Verifies a service principal's client id and secret for the identity endpoint's client-credentials grant.
   * The principal must belong to `tenantId` (an unknown client, a wrong secret and another tenant's client
   * are all `invalid`). Throttled like Basic logins.
   */
  async verifyClientSecret(
    clientId: string,
    secret: string,
    context: { tenantId: string; clientIp: string },
  ): Promise<Extract<Subject, { kind: 'principal' }>> {
    const subject = await this.throttled(
      clientId,
      context.clientIp,
      `client\u0000${context.tenantId}\u0000${clientId}\u0000${secret}`,
      undefined,
      async () => {
        if (!GUID.test(clientId) || !secret) throw new AuthError('invalid', 'invalid client credentials');
        return this.servicePrincipal(clientId, secret, context.tenantId);
      },
      (remembered) => this.assertPrincipalValid(remembered, context.tenantId),
    );
    if (subject.kind !== 'principal') throw new AuthError('invalid', 'invalid client credentials');
    return subject;
  }

  /**
   * Runs a credential check under the failed-login limit of (username, address): refused as `throttled` once
   * the limit is reached, a failure counted. A success is remembered for a minute under a hash of `secretKey`
   * (that saves the slow hash, not the state checks: `revalidate` runs on every reuse, so a credential
   * disabled since is refused at once).
   */
  private async throttled(
    username: string,
    clientIp: string,
    secretKey: string,
    registryId: string | undefined,
    check: () => Promise<Subject>,
    revalidate: (subject: Subject) => Promise<void>,
  ): Promise<Subject> {
    const throttleKey = `auth-fail:${sha256(username.toLowerCase())}:${clientIp}`;
    const seen = await this.cache.incrementWindow(throttleKey, 0, FAILED_LOGIN_WINDOW_SEC);
    if (seen.count >= FAILED_LOGIN_LIMIT) {
      throw new AuthError('throttled', 'too many failed logins; try again later', seen.resetsInSeconds);
    }
    const successKey = sha256(secretKey);
    try {
      const hit = this.successes.get(successKey);
      if (hit && Date.now() - hit.at < SUCCESS_CACHE_MS) {
        await revalidate(hit.subject);
        return hit.subject;
      }
      const subject = await check();
      if (this.successes.size >= MAX_SUCCESS_CACHE) this.successes.clear();
      this.successes.set(successKey, { at: Date.now(), subject });
      return subject;
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      const after = await this.cache.incrementWindow(throttleKey, 1, FAILED_LOGIN_WINDOW_SEC);
      this.rootLogger.child({ component: 'credentials' }).info(
        { registryId, reason: e.reason, failures: after.count, clientIp },
        'login refused',
      );
      throw e;
    }
  }

  /**
   * The subject of a registry refresh token presented for `registry`, re-checked against the database (a
   * principal disabled, an admin user switched off or a token disabled since issue is refused).
   */
  async verifyRefreshToken(token: string, ref: RegistryIdRef): Promise<Subject> {
    const registry = await this.registries.byId(ref.id);
    if (!registry) throw new AuthError('invalid', 'invalid refresh token');
    let subject: Subject;
    try {
      ({ subject } = await this.tokens.verifyRegistryRefreshToken(token, registry));
    } catch (e) {
      if (e instanceof TokenInvalidError) throw new AuthError(e.reason === 'expired' ? 'expired' : 'invalid', 'invalid refresh token');
      throw e;
    }
    await this.assertStillValid(subject, registry);
    return subject;
  }

  private async check(username: string, password: string, registry: RegistryFacts): Promise<Subject> {
    if (username === NULL_GUID_USERNAME) return this.verifyRefreshToken(password, registry);
    if (GUID.test(username)) return this.servicePrincipal(username, password, registry.tenantId);
    if (username.includes('@')) return this.user(username, password, registry.tenantId);
    if (username.toLowerCase() === registry.name.toLowerCase() && registry.adminUserEnabled) {
      return this.adminUser(password, registry);
    }
    return this.repositoryToken(username, password, registry);
  }

  private servicePrincipal(clientId: string, secret: string, tenantId: string): Promise<Subject> {
    return this.principal(`client_id = $1 AND kind = 'ServicePrincipal'`, clientId.toLowerCase(), secret, tenantId);
  }

  private user(upn: string, password: string, tenantId: string): Promise<Subject> {
    return this.principal(`lower(user_principal_name) = lower($1) AND kind = 'User'`, upn, password, tenantId);
  }

  /** The principal `where` (a fixed condition on $1 = `key`) finds, if `secret` is its secret and it is of `tenantId`. */
  private async principal(where: string, key: string, secret: string, tenantId: string): Promise<Subject> {
    const [row] = (await this.ds.query(
      `SELECT id, tenant_id, password_hash, secret_expires_at, enabled FROM principals WHERE ${where}`,
      [key],
    )) as PrincipalRow[];
    // Principals of another tenant are unknown here: their assignments could never apply to this registry.
    const sameTenant = row?.tenant_id === tenantId;
    const ok = await verifySecret(secret, (sameTenant && row?.password_hash) || DUMMY_HASH);
    if (!row || !sameTenant || !ok) throw new AuthError('invalid', 'invalid credentials');
    if (!row.enabled) throw new AuthError('disabled', 'the principal is disabled');
    if (row.secret_expires_at && row.secret_expires_at.getTime() <= Date.now()) throw new AuthError('expired', 'the secret has expired');
    return { kind: 'principal', principalId: row.id, tenantId: row.tenant_id };
  }

  private async adminUser(password: string, registry: RegistryFacts): Promise<Subject> {
    const rows = (await this.ds.query(`SELECT password_hash FROM admin_credentials WHERE registry_id = $1 ORDER BY name`, [
      registry.id,
    ])) as Array<{ password_hash: string }>;
    for (const row of rows) {
      if (await verifySecret(password, row.password_hash)) return { kind: 'admin', registryId: registry.id };
    }
    if (rows.length === 0) await verifySecret(password, DUMMY_HASH);
    throw new AuthError('invalid', 'invalid credentials');
  }

  private async repositoryToken(name: string, password: string, registry: RegistryFacts): Promise<Subject> {
    const [row] = (await this.ds.query(
      `SELECT id, status, password1_hash, password1_expires_at, password2_hash, password2_expires_at
         FROM tokens WHERE registry_id = $1 AND lower(name) = lower($2)`,
      [registry.id, name],
    )) as TokenRow[];
    if (!row) {
      await verifySecret(password, DUMMY_HASH);
      // The registry's own name while its admin user is off: say so (ACR answers the same for a disabled admin).
      if (name.toLowerCase() === registry.name.toLowerCase()) throw new AuthError('disabled', 'the admin user is disabled');
      throw new AuthError('invalid', 'invalid credentials');
    }
    for (const [hash, expires] of [
      [row.password1_hash, row.password1_expires_at],
      [row.password2_hash, row.password2_expires_at],
    ] as const) {
      if (!hash || !(await verifySecret(password, hash))) continue;
      if (row.status !== 'enabled') throw new AuthError('disabled', 'the token is disabled');
      if (expires && expires.getTime() <= Date.now()) throw new AuthError('expired', 'the token password has expired');
      return { kind: 'token', tokenId: row.id, registryId: registry.id };
    }
    throw new AuthError('invalid', 'invalid credentials');
  }

  private async assertStillValid(subject: Subject, registry: RegistryFacts): Promise<void> {
    switch (subject.kind) {
      case 'anonymous':
        throw new AuthError('invalid', 'invalid credentials');
      case 'admin':
        if (subject.registryId !== registry.id) throw new AuthError('invalid', 'invalid credentials');
        if (!registry.adminUserEnabled) throw new AuthError('disabled', 'the admin user is disabled');
        return;
      case 'token': {
        const [row] = (await this.ds.query(`SELECT status FROM tokens WHERE id = $1 AND registry_id = $2`, [
          subject.tokenId,
          registry.id,
        ])) as Array<{ status: string }>;
        if (!row) throw new AuthError('invalid', 'invalid credentials');
        if (row.status !== 'enabled') throw new AuthError('disabled', 'the token is disabled');
        return;
      }
      case 'principal':
        return this.assertPrincipalValid(subject, registry.tenantId);
    }
  }

  private async assertPrincipalValid(subject: Subject, tenantId: string): Promise<void> {
    if (subject.kind !== 'principal') throw new AuthError('invalid', 'invalid credentials');
    const [row] = (await this.ds.query(`SELECT tenant_id, enabled, secret_expires_at FROM principals WHERE id = $1`, [subject.principalId])) as Array<
      Pick<PrincipalRow, 'tenant_id' | 'enabled' | 'secret_expires_at'>
    >;
    if (!row || row.tenant_id !== tenantId) throw new AuthError('invalid', 'invalid credentials');
    if (!row.enabled) throw new AuthError('disabled', 'the principal is disabled');
  }
}

interface PrincipalRow {
  id: string;
  tenant_id: string;
  password_hash: string | null;
  secret_expires_at: Date | null;
  enabled: boolean;
}

interface TokenRow {
  id: string;
  status: string;
  password1_hash: string | null;
  password1_expires_at: Date | null;
  password2_hash: string | null;
  password2_expires_at: Date | null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
