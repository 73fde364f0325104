import { BUILT_IN_ROLES, hashSecret, sealSecret } from '@berth/auth';
import { loadConfig, type BerthConfig } from '@berth/config';
import { createLogger, serviceRoot } from '@berth/platform';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ENVELOPE_PURPOSE } from './identity.tokens';
import { IdentityModule } from './identity.module';

/** An IdentityModule on the real database and Redis, as a service process composes it. */
export async function identityContext(env: Record<string, string>): Promise<{ app: INestApplicationContext; config: BerthConfig }> {
  const config = loadConfig({ BERTH_LOG_LEVEL: 'silent', BERTH_CACHE: 'redis', ...env }, 'distributed');
  const logger = createLogger('identity-test', 'silent');
  const app = await NestFactory.createApplicationContext(
    serviceRoot(config, logger, { needs: ['database', 'cache'], modules: [IdentityModule] }),
    { logger: false },
  );
  return { app, config };
}

/** Ids and secrets of the seeded world (two tenants; registries, principals, admin users, tokens, role assignments). */
export interface IdentityWorld {
  tenantA: string;
  tenantB: string;
  subA: string;
  subB: string;
  /** Premium, admin user on, anonymous pull on, in resource group rg1 of tenant A. */
  regA1: { id: string; name: string };
  /** Standard, admin user off (credentials still stored), in rg2 of tenant A. */
  regA2: { id: string; name: string };
  /** Basic with anonymous pull switched on (it must not apply), rg1 of tenant A. */
  regBasic: { id: string; name: string };
  /** Tenant B's registry. */
  regB: { id: string; name: string };
  principals: Record<'spA' | 'userA' | 'spRg' | 'spDisabled' | 'spExpired' | 'spB', { id: string; clientId: string; secret: string }>;
  upnA: string;
  adminPasswords: [string, string];
  tokens: Record<'tok' | 'tokDisabled', { id: string; name: string; password1: string; password2: string }>;
}

const uuid = (): string => randomUUID();

/** Seeds the world with plain SQL (the management API that will create these is another service's). */
export async function seedIdentityWorld(ds: DataSource, masterKey: Buffer, suffix: string): Promise<IdentityWorld> {
  const tenantA = uuid();
  const tenantB = uuid();
  const subA = uuid();
  const subB = uuid();
  const rg1 = uuid();
  const rg2 = uuid();
  const rgB = uuid();
  await ds.query(`INSERT INTO tenants (id, display_name) VALUES ($1, 'A'), ($2, 'B')`, [tenantA, tenantB]);
  await ds.query(`INSERT INTO subscriptions (id, tenant_id, display_name) VALUES ($1, $2, 'A'), ($3, $4, 'B')`, [subA, tenantA, subB, tenantB]);
  await ds.query(
    `INSERT INTO resource_groups (id, subscription_id, name, location) VALUES ($1, $2, 'rg1', 'eastus'), ($3, $2, 'rg2', 'eastus'), ($4, $5, 'rgb', 'eastus')`,
    [rg1, subA, rg2, rgB, subB],
  );
  const registry = async (name: string, sub: string, rg: string, sku: string, admin: boolean, anonymous: boolean) => {
    const id = uuid();
    await ds.query(
      `INSERT INTO registries (id, subscription_id, resource_group_id, name, login_server, location, sku, admin_user_enabled, anonymous_pull_enabled)
       VALUES ($1, $2, $3, $4, $5, 'eastus', $6, $7, $8)`,
      [id, sub, rg, name, `${name.toLowerCase()}.${suffix}`, sku, admin, anonymous],
    );
    return { id, name };
  };
  const tag = uuid().replace(/-/g, '').slice(0, 8);
  const regA1 = await registry(`RegOne${tag}`, subA, rg1, 'Premium', true, true);
  const regA2 = await registry(`regtwo${tag}`, subA, rg2, 'Standard', false, false);
  const regBasic = await registry(`regbasic${tag}`, subA, rg1, 'Basic', false, true);
  const regB = await registry(`regb${tag}`, subB, rgB, 'Premium', true, false);

  const upnA = `alice.${uuid().slice(0, 8)}@a.example`;
  const principal = async (tenant: string, kind: 'ServicePrincipal' | 'User', opts: { enabled?: boolean; expired?: boolean } = {}) => {
    const id = uuid();
    const clientId = uuid();
    const secret = `secret-${uuid()}`;
    await ds.query(
      `INSERT INTO principals (id, tenant_id, kind, display_name, client_id, user_principal_name, password_hash, secret_expires_at, enabled)
       VALUES ($1, $2, $3, 'p', $4, $5, $6, $7, $8)`,
      [
        id,
        tenant,
        kind,
        clientId,
        kind === 'User' ? upnA : null,
        await hashSecret(secret),
        opts.expired ? new Date(Date.now() - 60_000) : null,
        opts.enabled ?? true,
      ],
    );
    return { id, clientId, secret };
  };
  const principals = {
    spA: await principal(tenantA, 'ServicePrincipal'),
    userA: await principal(tenantA, 'User'),
    spRg: await principal(tenantA, 'ServicePrincipal'),
    spDisabled: await principal(tenantA, 'ServicePrincipal', { enabled: false }),
    spExpired: await principal(tenantA, 'ServicePrincipal', { expired: true }),
    spB: await principal(tenantB, 'ServicePrincipal'),
  };
  const assign = (principalId: string, role: string, scope: string) =>
    ds.query(`INSERT INTO role_assignments (principal_id, role_definition_id, scope) VALUES ($1, $2, $3)`, [principalId, role, scope]);
  await assign(principals.spA.id, BUILT_IN_ROLES.AcrPull, `/subscriptions/${subA}`);
  await assign(principals.userA.id, BUILT_IN_ROLES.AcrPush, `/subscriptions/${subA}/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/${regA1.name.toLowerCase()}`);
  await assign(principals.spRg.id, BUILT_IN_ROLES.Contributor, `/SUBSCRIPTIONS/${subA}/resourcegroups/RG1`);
  await assign(principals.spDisabled.id, BUILT_IN_ROLES.Owner, `/subscriptions/${subA}`);
  await assign(principals.spExpired.id, BUILT_IN_ROLES.Owner, `/subscriptions/${subA}`);
  await assign(principals.spB.id, BUILT_IN_ROLES.Owner, `/subscriptions/${subB}`);
  // A cross-tenant assignment (tenant B's principal on tenant A's subscription) must never count.
  await assign(principals.spB.id, BUILT_IN_ROLES.Owner, `/subscriptions/${subA}`);

  const adminPasswords: [string, string] = [`admin-1-${uuid()}`, `admin-2-${uuid()}`];
  for (const reg of [regA1, regA2]) {
    for (const [name, value] of [['password', adminPasswords[0]], ['password2', adminPasswords[1]]] as const) {
      await ds.query(`INSERT INTO admin_credentials (registry_id, name, password_hash, encrypted_value) VALUES ($1, $2, $3, $4)`, [
        reg.id,
        name,
        await hashSecret(value),
        sealSecret(masterKey, ENVELOPE_PURPOSE.adminPassword, value),
      ]);
    }
  }

  const scopeMap = uuid();
  await ds.query(`INSERT INTO scope_maps (id, registry_id, name, actions) VALUES ($1, $2, 'devs', $3)`, [
    scopeMap,
    regA1.id,
    ['repositories/app/content/read', 'repositories/app/metadata/read', 'repositories/team/*/content/write'],
  ]);
  const token = async (name: string, status: 'enabled' | 'disabled') => {
    const id = uuid();
    const password1 = `tp1-${uuid()}`;
    const password2 = `tp2-${uuid()}`;
    await ds.query(
      `INSERT INTO tokens (id, registry_id, name, scope_map_id, status, password1_hash, password2_hash, password2_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, regA1.id, name, scopeMap, status, await hashSecret(password1), await hashSecret(password2), new Date(Date.now() - 60_000)],
    );
    return { id, name, password1, password2 };
  };
  const tokens = { tok: await token('ci-token', 'enabled'), tokDisabled: await token('old-token', 'disabled') };
  return { tenantA, tenantB, subA, subB, regA1, regA2, regBasic, regB, principals, upnA, adminPasswords, tokens };
}
