import { BUILT_IN_ROLES, hashSecret, type BuiltInRoleName } from '@berth/auth';
import { randomBytes, randomUUID } from 'node:crypto';

/** Something that runs SQL (a TypeORM DataSource or EntityManager). */
export interface Sql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** A service principal a test signs in with. */
export interface TestPrincipal {
  principalId: string;
  clientId: string;
  secret: string;
  /** `Basic base64(clientId:secret)`, accepted directly on /v2 and /acr/v1 as ACR does. */
  basic: string;
}

/** `Basic base64(username:password)`. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Creates a service principal in `tenantId` holding `role` at `scope` (an ARM id: a subscription, resource group
 * or registry), the way the management API records them. The secret is random and hashed as token-service
 * stores it; tests use the returned Basic header or the client id and secret in the token flow.
 */
export async function seedServicePrincipal(
  sql: Sql,
  args: {
    tenantId: string;
    role: BuiltInRoleName;
    scope: string;
    subscriptionId?: string;
    registryId?: string;
    displayName?: string;
  },
): Promise<TestPrincipal> {
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  const [row] = (await sql.query(
    `INSERT INTO principals (tenant_id, kind, display_name, client_id, password_hash)
     VALUES ($1, 'ServicePrincipal', $2, $3, $4) RETURNING id`,
    [args.tenantId, args.displayName ?? 'test principal', clientId, await hashSecret(secret)],
  )) as Array<{ id: string }>;
  const principalId = row?.id ?? '';
  await sql.query(
    `INSERT INTO role_assignments (principal_id, role_definition_id, scope, subscription_id, registry_id)
     VALUES ($1, $2, $3, $4, $5)`,
    [principalId, BUILT_IN_ROLES[args.role], args.scope, args.subscriptionId ?? null, args.registryId ?? null],
  );
  return { principalId, clientId, secret, basic: basicAuth(clientId, secret) };
}

/** The ARM id of a subscription, the scope an Owner of everything in it is assigned at. */
export function subscriptionScope(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}`;
}

/**
 * A service principal holding `role` (default Owner) on the subscription of an existing registry: the usual
 * way a data-plane test signs in. Returns the principal; its `basic` header works on every registry of that subscription.
 */
export async function seedSubscriptionPrincipal(
  sql: Sql,
  registryId: string,
  role: BuiltInRoleName = 'Owner',
): Promise<TestPrincipal> {
  const [row] = (await sql.query(
    `SELECT s.id, s.tenant_id FROM registries r JOIN subscriptions s ON s.id = r.subscription_id WHERE r.id = $1`,
    [registryId],
  )) as Array<{ id: string; tenant_id: string }>;
  if (!row) throw new Error(`registry ${registryId} not found`);
  return seedServicePrincipal(sql, {
    tenantId: row.tenant_id,
    role,
    scope: subscriptionScope(row.id),
    subscriptionId: row.id,
  });
}

/** What {@link seedRegistries} created: one tenant, subscription and resource group, and the registries by name. */
export interface SeededRegistries {
  tenantId: string;
  subscriptionId: string;
  resourceGroupId: string;
  /** Registry id by name. */
  registryIds: Record<string, string>;
}

/**
 * Registries as the management API would leave them, for tests that write rows directly: a tenant, a subscription
 * and a resource group `berth` in eastus, and one Premium registry per name (login server `<name>.berth.localhost`).
 */
export async function seedRegistries(sql: Sql, names: readonly string[]): Promise<SeededRegistries> {
  const one = async (text: string, params: unknown[]): Promise<string> => {
    const [row] = (await sql.query(text, params)) as Array<{ id: string }>;
    if (!row?.id) throw new Error(`seedRegistries: no row from ${text.slice(0, 40)}`);
    return row.id;
  };
  const tenantId = await one(`INSERT INTO tenants (display_name) VALUES ('t') RETURNING id`, []);
  const subscriptionId = await one(`INSERT INTO subscriptions (tenant_id, display_name) VALUES ($1, 's') RETURNING id`, [tenantId]);
  const resourceGroupId = await one(
    `INSERT INTO resource_groups (subscription_id, name, location) VALUES ($1, 'berth', 'eastus') RETURNING id`,
    [subscriptionId],
  );
  const registryIds: Record<string, string> = {};
  for (const name of names) {
    registryIds[name] = await one(
      `INSERT INTO registries (subscription_id, resource_group_id, name, login_server, location, sku)
       VALUES ($1, $2, $3, $4, 'eastus', 'Premium') RETURNING id`,
      [subscriptionId, resourceGroupId, name, `${name}.berth.localhost`],
    );
  }
  return { tenantId, subscriptionId, resourceGroupId, registryIds };
}
