import type { BerthConfig } from '@berth/config';
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';

export interface BootstrapTenancy {
  tenantId: string;
  subscriptionId: string;
  resourceGroupId: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable GUID for a name (RFC 4122 version-5 layout over SHA-1), so every process derives the same id. */
export function stableGuid(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The bootstrap tenant's id: BERTH_BOOTSTRAP_TENANT itself when it is a GUID, else derived from the name. */
export function bootstrapTenantId(config: BerthConfig): string {
  const t = config.bootstrap.tenant;
  return GUID.test(t) ? t.toLowerCase() : stableGuid('berth-tenant', t);
}

/**
 * Creates the operator's tenant, subscription and the `berth` resource group when missing. Idempotent and
 * safe when several processes start at once (fixed ids and ON CONFLICT); never changes existing rows.
 */
export async function ensureBootstrapTenancy(ds: DataSource, config: BerthConfig): Promise<BootstrapTenancy> {
  const tenantId = bootstrapTenantId(config);
  const subscriptionId = config.bootstrap.subscription;
  const resourceGroupId = stableGuid('berth-resource-group', `${subscriptionId}/${config.bootstrap.resourceGroup}`);
  await ds.transaction(async (tx) => {
    await tx.query(`INSERT INTO tenants (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
      tenantId,
      config.bootstrap.tenant,
    ]);
    await tx.query(
      `INSERT INTO subscriptions (id, tenant_id, display_name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
      [subscriptionId, tenantId, 'Berth bootstrap subscription'],
    );
    await tx.query(
      `INSERT INTO resource_groups (id, subscription_id, name, location) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [resourceGroupId, subscriptionId, config.bootstrap.resourceGroup, config.regions[0]],
    );
  });
  const [rg] = (await ds.query(`SELECT id FROM resource_groups WHERE subscription_id = $1 AND lower(name) = lower($2)`, [
    subscriptionId,
    config.bootstrap.resourceGroup,
  ])) as Array<{ id: string }>;
  return { tenantId, subscriptionId, resourceGroupId: rg?.id ?? resourceGroupId };
}
