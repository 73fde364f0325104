import { Injectable } from '@nestjs/common';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { badRequest, conflict } from '../arm/arm-error';
import { TAGS, bool, obj, parseBody, readonly, str } from '../arm/body-shape.util';
import { checkName, childId, normaliseLocation, systemData } from '../arm/arm-names.util';
import type { RegistryRow } from '../registries/registry-records.service';
import { RegistryChildService } from './registry-child.service';

const TYPE = 'Microsoft.ContainerRegistry/registries/replications';
const RO = { id: readonly, name: readonly, type: readonly, systemData: readonly };
const PROPS = { regionEndpointEnabled: bool, zoneRedundancy: str({ enum: ['Enabled', 'Disabled'] }) };
const CREATE = obj(
  {
    ...RO,
    location: str({ minLength: 1 }),
    tags: TAGS,
    properties: obj({ ...PROPS, provisioningState: readonly, status: readonly }),
  },
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
export class ReplicationsService extends RegistryChildService<ReplicationRow> {
  protected readonly table = 'replications';
  protected readonly type = TYPE;

  async put(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    checkName('replication', name);
    const body = parseBody<Body>(CREATE, ctx.body);
    const location = normaliseLocation(body.location ?? '');
    if (!this.config.regions.includes(location)) {
      throw badRequest(
        'LocationNotAvailableForResourceType',
        `The location '${String(body.location)}' is not one of this installation's regions (${this.config.regions.join(', ')}).`,
        'location',
      );
    }
    const { row, created } = await this.ds.transaction(async (tx) => {
      const reg = await this.records.get(ctx.subscriptionId, rg, registry, { db: tx, lock: true, live: true });
      const tier = this.tiers.tier(reg.sku);
      if (!tier.features.geoReplication) {
        throw badRequest(
          'OperationNotAllowed',
          `Geo-replication is not supported on the ${reg.sku} tier; upgrade the registry to Premium.`,
          'sku',
        );
      }
      if (location === reg.location) {
        throw badRequest(
          'InvalidReplicationLocation',
          `'${location}' is the registry's home region, which already holds its content.`,
          'location',
        );
      }
      const existing = (await this.existing(tx, reg, name)) ? await this.find(reg, name, tx) : undefined;
      if (existing) {
        if (existing.location !== location)
          throw badRequest('LocationUpdateNotAllowed', 'The location of a replication cannot be changed.', 'location');
        await tx.query(
          `UPDATE replications SET tags = $2, region_endpoint_enabled = $3, zone_redundancy = $4, updated_at = now() WHERE id = $1`,
          [
            existing.id,
            JSON.stringify(body.tags ?? {}),
            body.properties?.regionEndpointEnabled ?? true,
            body.properties?.zoneRedundancy ?? 'Disabled',
          ],
        );
        return { row: reg, created: false };
      }
      await this.assertBelowLimit(tx, reg, tier.replications, 'geo-replications');
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
          JSON.stringify({
            displayStatus: 'Syncing',
            message: 'Waiting for the replication worker',
            timestamp: new Date().toISOString(),
          }),
        ],
      )) as unknown[];
      if (inserted.length === 0)
        throw conflict(
          'ReplicationAlreadyExists',
          `The registry already has a replication in '${location}'.`,
          'location',
        );
      return { row: reg, created: true };
    });
    return this.putResponse(ctx, row, name, created, location);
  }

  async patch(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const { body, reg, row } = await this.editing<Body>(ctx, UPDATE, rg, registry, name);
    await this.ds.query(
      `UPDATE replications SET tags = $2, region_endpoint_enabled = $3, updated_at = now() WHERE id = $1`,
      [
        row.id,
        JSON.stringify(body.tags ?? row.tags),
        body.properties?.regionEndpointEnabled ?? row.region_endpoint_enabled,
      ],
    );
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  protected toResource(reg: RegistryRow, r: ReplicationRow): Record<string, unknown> {
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
