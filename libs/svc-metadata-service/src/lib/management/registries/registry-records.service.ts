import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE, storedBytesQuery } from '@berth/db';
import type { RegistryUsage } from '@berth/tiers';
import type { DataSource, EntityManager } from 'typeorm';
import { ArmError, resourceGroupNotFound, resourceNotFound } from '../arm/arm-error';

/** A registry row with its resource group's name. */
export interface RegistryRow {
  id: string;
  subscription_id: string;
  resource_group_id: string;
  rg_name: string;
  name: string;
  login_server: string;
  location: string;
  sku: 'Basic' | 'Standard' | 'Premium';
  admin_user_enabled: boolean;
  anonymous_pull_enabled: boolean;
  policies: Record<string, Record<string, unknown>>;
  properties: Record<string, unknown>;
  tags: Record<string, string>;
  provisioning_state: string;
  created_at: Date;
  updated_at: Date;
}

type Db = DataSource | EntityManager;

/** Reads registries and what they contain, scoped by subscription and resource group (tenant isolation by signature). */
@Injectable()
export class RegistryRecords {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /** The resource group's id; 404 ResourceGroupNotFound when the subscription has no such group. */
  async resourceGroup(
    sub: string,
    rg: string,
    db: Db = this.ds,
  ): Promise<{ id: string; name: string; location: string }> {
    const [row] = (await db.query(
      `SELECT id, name, location FROM resource_groups WHERE subscription_id = $1 AND lower(name) = lower($2)`,
      [sub, rg],
    )) as Array<{ id: string; name: string; location: string }>;
    if (!row) throw resourceGroupNotFound(rg);
    return row;
  }

  /** The registry, or undefined; its resource group must exist (404 ResourceGroupNotFound otherwise). */
  async find(sub: string, rg: string, name: string, db: Db = this.ds, lock = false): Promise<RegistryRow | undefined> {
    const group = await this.resourceGroup(sub, rg, db);
    const [row] = (await db.query(
      `SELECT r.*, $3::text AS rg_name FROM registries r
        WHERE r.resource_group_id = $1 AND lower(r.name) = lower($2) ${lock ? 'FOR UPDATE OF r' : ''}`,
      [group.id, name, group.name],
    )) as RegistryRow[];
    return row;
  }

  /** The registry; 404 ResourceNotFound when absent. `live` also refuses one being deleted (409). */
  async get(
    sub: string,
    rg: string,
    name: string,
    opts: { db?: Db; lock?: boolean; live?: boolean } = {},
  ): Promise<RegistryRow> {
    const row = await this.find(sub, rg, name, opts.db ?? this.ds, opts.lock ?? false);
    if (!row) throw resourceNotFound('Microsoft.ContainerRegistry/registries', name, rg);
    if (opts.live && row.provisioning_state === 'Deleting') {
      throw new ArmError(409, 'RegistryBeingDeleted', `The registry '${row.name}' is being deleted.`);
    }
    return row;
  }

  async list(sub: string, rg?: string): Promise<RegistryRow[]> {
    if (rg !== undefined) {
      const group = await this.resourceGroup(sub, rg);
      return (await this.ds.query(
        `SELECT r.*, $2::text AS rg_name FROM registries r WHERE r.resource_group_id = $1 ORDER BY lower(r.name)`,
        [group.id, group.name],
      )) as RegistryRow[];
    }
    return (await this.ds.query(
      `SELECT r.*, g.name AS rg_name FROM registries r JOIN resource_groups g ON g.id = r.resource_group_id
        WHERE r.subscription_id = $1 ORDER BY lower(r.name)`,
      [sub],
    )) as RegistryRow[];
  }

  /**
   * Bytes stored: blobs plus manifests (geo-replicas count once, as ACR's limit does), from the `usage_counters` rows
   * `storage_bytes:<n>` that triggers keep current in every writing transaction (migration StorageUsageCounters).
   */
  async storageBytes(registryId: string, db: Db = this.ds): Promise<number> {
    const [row] = (await db.query(storedBytesQuery('$1'), [registryId])) as Array<{ bytes: string }>;
    return Number(row?.bytes ?? 0);
  }

  /** What the registry uses now, for tier checks and listUsages. */
  async usage(row: RegistryRow, db: Db = this.ds): Promise<RegistryUsage> {
    const [c] = (await db.query(
      `SELECT (SELECT count(*) FROM webhooks WHERE registry_id = $1)::int AS webhooks,
              (SELECT count(*) FROM tokens WHERE registry_id = $1)::int AS tokens,
              (SELECT count(*) FROM scope_maps WHERE registry_id = $1 AND type = 'UserDefined')::int AS scope_maps,
              (SELECT count(*) FROM replications WHERE registry_id = $1)::int AS replications`,
      [row.id],
    )) as Array<{ webhooks: number; tokens: number; scope_maps: number; replications: number }>;
    return {
      ...settingsUsage(row),
      storageBytes: await this.storageBytes(row.id, db),
      webhooks: c?.webhooks ?? 0,
      tokens: c?.tokens ?? 0,
      scopeMaps: c?.scope_maps ?? 0,
      replications: c?.replications ?? 0,
    };
  }
}

/** The part of a registry's usage that its own settings determine. */
export function settingsUsage(
  row: Pick<RegistryRow, 'anonymous_pull_enabled' | 'policies' | 'properties'>,
): Omit<RegistryUsage, 'storageBytes' | 'webhooks' | 'tokens' | 'scopeMaps' | 'replications'> {
  const rules = (row.properties['networkRuleSet'] ?? {}) as { defaultAction?: string; ipRules?: unknown[] };
  const status = (p: string): unknown => row.policies[p]?.['status'];
  return {
    ipRules: rules.ipRules?.length ?? 0,
    networkDefaultDeny: rules.defaultAction === 'Deny',
    anonymousPullEnabled: row.anonymous_pull_enabled,
    retentionPolicyEnabled: status('retentionPolicy') === 'enabled',
    trustPolicyEnabled: status('trustPolicy') === 'enabled',
    exportPolicyDisabled: status('exportPolicy') === 'disabled',
    dataEndpointEnabled: row.properties['dataEndpointEnabled'] === true,
  };
}
