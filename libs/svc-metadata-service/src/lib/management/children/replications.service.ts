import { Inject, Injectable } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import { TierCatalog } from '@berth/tiers';
import type { DataSource } from 'typeorm';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { ArmError, badRequest, conflict, resourceNotFound } from '../arm/arm-error';
import { TAGS, bool, obj, parseBody, readonly, str } from '../arm/body-shape.util';
import { checkName, childId, normaliseLocation, systemData } from '../arm/arm-names.util';
import { OperationsService } from '../arm/operations.service';
import { RegistryRecords, type RegistryRow } from '../registries/registry-records.service';

const TYPE = 'Microsoft.ContainerRegistry/registries/replications';
const RO = { id: readonly, name: readonly, type: readonly, systemData: readonly };
const PROPS = { regionEndpointEnabled: bool, zoneRedundancy: str({ enum: ['Enabled', 'Disabled'] }) };
const CREATE = obj(
  { ...RO, location: str({ minLength: 1 }), tags: TAGS, properties: obj({ ...PROPS, provisioningState: readonly, status: readonly }) },
  ['location'],
);
const UPDATE = obj({ tags: TAGS, properties: obj({ regionEndpointEnabled: bool }) });

interface ReplicationRow {
  id: string;
  name: string;
  location: string;
  region_endpoint_enabled: boolean;
  zone_redundancy: string;
  tags: Record<string, string>;
  provisioning_state: string;
  status: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
}

interface Body {
  location?: string;
  tags?: Record<string, string>;
  properties?: { regionEndpointEnabled?: boolean; zoneRedundancy?: string };
}

/**
 * Geo-replication records (reference §4.6; Premium only; locations from BERTH_REGIONS, not the home region). The
 * records carry a status; copying content is replication-worker's job.
 */
@Injectable()
export class ReplicationsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    private readonly records: RegistryRecords,
    private readonly tiers: TierCatalog,
    private readonly operations: OperationsService,
  ) {}

  async list(ctx: ArmContext, rg: string, registry: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    const rows = (await this.ds.query(`SELECT * FROM replications WHERE registry_id = $1 ORDER BY lower(name)`, [reg.id])) as ReplicationRow[];
    return { status: 200, body: { value: rows.map((r) => this.toResource(reg, r)) } };
  }

  async get(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  async put(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    checkName('replication', name);
    const body = parseBody<Body>(CREATE, ctx.body);
    const location = normaliseLocation(body.location ?? '');
    if (!this.config.regions.includes(location)) {
      throw badRequest('LocationNotAvailableForResourceType', `The location '${String(body.location)}' is not one of this installation's regions (${this.config.regions.join(', ')}).`, 'location');
    }
    const { row, created } = await this.ds.transaction(async (tx) => {
      const reg = await this.records.get(ctx.subscriptionId, rg, registry, { db: tx, lock: true, live: true });
      const tier = this.tiers.tier(reg.sku);
      if (!tier.features.geoReplication) {
        throw badRequest('OperationNotAllowed', `Geo-replication is not supported on the ${reg.sku} tier; upgrade the registry to Premium.`, 'sku');
      }
      if (location === reg.location) {
        throw badRequest('InvalidReplicationLocation', `'${location}' is the registry's home region, which already holds its content.`, 'location');
      }
      const [existing] = (await tx.query(`SELECT * FROM replications WHERE registry_id = $1 AND lower(name) = lower($2)`, [reg.id, name])) as ReplicationRow[];
      if (existing) {
        if (existing.location !== location) throw badRequest('LocationUpdateNotAllowed', 'The location of a replication cannot be changed.', 'location');
        await tx.query(
          `UPDATE replications SET tags = $2, region_endpoint_enabled = $3, zone_redundancy = $4, updated_at = now() WHERE id = $1`,
          [existing.id, JSON.stringify(body.tags ?? {}), body.properties?.regionEndpointEnabled ?? true, body.properties?.zoneRedundancy ?? 'Disabled'],
        );
        return { row: reg, created: false };
      }
      if (tier.replications >= 0) {
        const [c] = (await tx.query(`SELECT count(*)::int AS n FROM replications WHERE registry_id = $1`, [reg.id])) as Array<{ n: number }>;
        if ((c?.n ?? 0) >= tier.replications) throw quotaExceeded('geo-replications', tier.replications, reg.sku);
      }
      const inserted = (await tx.query(
        `INSERT INTO replications (registry_id, name, location, region_endpoint_enabled, zone_redundancy, tags, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
        [
          reg.id,
          name,
          location,
          body.properties?.regionEndpointEnabled ?? true,
          body.properties?.zoneRedundancy ?? 'Disabled',
          JSON.stringify(body.tags ?? {}),
          JSON.stringify({ displayStatus: 'Syncing', message: 'Waiting for the replication worker', timestamp: new Date().toISOString() }),
        ],
      )) as unknown[];
      if (inserted.length === 0) throw conflict('ReplicationAlreadyExists', `The registry already has a replication in '${location}'.`, 'location');
      return { row: reg, created: true };
    });
    const resource = this.toResource(row, await this.find(row, name));
    if (!created) return { status: 200, body: resource };
    const op = await this.operations.start(ctx.subscriptionId);
    return { status: 201, body: resource, headers: { 'Azure-AsyncOperation': this.operations.urls(ctx.baseUrl, op, location, ctx.apiVersion).asyncOperation } };
  }

  async patch(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const body = parseBody<Body>(UPDATE, ctx.body);
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const row = await this.find(reg, name);
    await this.ds.query(`UPDATE replications SET tags = $2, region_endpoint_enabled = $3, updated_at = now() WHERE id = $1`, [
      row.id,
      JSON.stringify(body.tags ?? row.tags),
      body.properties?.regionEndpointEnabled ?? row.region_endpoint_enabled,
    ]);
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  async delete(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const done = (await this.ds.query(`DELETE FROM replications WHERE registry_id = $1 AND lower(name) = lower($2)`, [reg.id, name])) as [unknown, number];
    return { status: done[1] > 0 ? 200 : 204 };
  }

  private async find(reg: RegistryRow, name: string): Promise<ReplicationRow> {
    const [row] = (await this.ds.query(`SELECT * FROM replications WHERE registry_id = $1 AND lower(name) = lower($2)`, [reg.id, name])) as ReplicationRow[];
    if (!row) throw resourceNotFound(TYPE, `${reg.name}/${name}`, reg.rg_name);
    return row;
  }

  private toResource(reg: RegistryRow, r: ReplicationRow): Record<string, unknown> {
    return {
      id: childId(reg.subscription_id, reg.rg_name, reg.name, 'replications', r.name),
      name: r.name,
      type: TYPE,
      location: r.location,
      tags: r.tags,
      systemData: systemData(r),
      properties: {
        provisioningState: r.provisioning_state,
        status: r.status ?? {},
        regionEndpointEnabled: r.region_endpoint_enabled,
        zoneRedundancy: r.zone_redundancy,
      },
    };
  }
}

/** A count limit of the tier reached (409 QuotaExceeded). */
export function quotaExceeded(noun: string, limit: number, sku: string): ArmError {
  return new ArmError(409, 'QuotaExceeded', `The ${sku} tier allows at most ${limit} ${noun} per registry.`);
}
