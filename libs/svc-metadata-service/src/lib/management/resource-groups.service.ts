import { Inject, Injectable } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import type { DataSource } from 'typeorm';
import type { ArmContext, ArmResponse } from './arm/arm-context';
import { badRequest, resourceGroupNotFound } from './arm/arm-error';
import { TAGS, obj, parseBody, readonly, str } from './arm/body-shape.util';
import { checkName, normaliseLocation, resourceGroupId } from './arm/arm-names.util';
import { OperationsService } from './arm/operations.service';
import { RegistryDeletion } from './registries/registry-deletion.service';

interface GroupRow {
  id: string;
  subscription_id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  provisioning_state: string;
}

const GROUP_BODY = obj(
  {
    id: readonly,
    name: readonly,
    type: readonly,
    properties: readonly,
    managedBy: readonly,
    location: str({ minLength: 1 }),
    tags: TAGS,
  },
  ['location'],
);

/** Resource groups in Microsoft.Resources' shape (so `@azure/arm-resources` works), as DESIGN's contract asks. */
@Injectable()
export class ResourceGroupsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    private readonly operations: OperationsService,
    private readonly deletion: RegistryDeletion,
  ) {}

  async put(ctx: ArmContext, name: string): Promise<ArmResponse> {
    checkName('resourceGroup', name);
    const body = parseBody<{ location: string; tags?: Record<string, string> }>(GROUP_BODY, ctx.body);
    const location = normaliseLocation(body.location);
    if (!this.config.regions.includes(location)) {
      throw badRequest(
        'LocationNotAvailableForResourceGroup',
        `The provided location '${body.location}' is not available for resource group.`,
        'location',
      );
    }
    const existing = await this.find(ctx.subscriptionId, name);
    if (existing) {
      if (existing.location !== location) {
        throw badRequest(
          'InvalidResourceGroupLocation',
          `Invalid resource group location '${body.location}'. The Resource group already exists in location '${existing.location}'.`,
        );
      }
      await this.ds.query(`UPDATE resource_groups SET tags = $2, updated_at = now() WHERE id = $1`, [
        existing.id,
        JSON.stringify(body.tags ?? {}),
      ]);
      return { status: 200, body: this.toResource((await this.find(ctx.subscriptionId, name)) ?? existing) };
    }
    await this.ds.query(
      `INSERT INTO resource_groups (subscription_id, name, location, tags) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [ctx.subscriptionId, name, location, JSON.stringify(body.tags ?? {})],
    );
    const row = await this.find(ctx.subscriptionId, name);
    if (!row) throw resourceGroupNotFound(name);
    return { status: 201, body: this.toResource(row) };
  }

  async get(ctx: ArmContext, name: string): Promise<ArmResponse> {
    const row = await this.find(ctx.subscriptionId, name);
    if (!row) throw resourceGroupNotFound(name);
    return { status: 200, body: this.toResource(row) };
  }

  /** HEAD (checkExistence): 204 or 404 without a body. */
  async head(ctx: ArmContext, name: string): Promise<ArmResponse> {
    return { status: (await this.find(ctx.subscriptionId, name)) ? 204 : 404 };
  }

  async list(ctx: ArmContext): Promise<ArmResponse> {
    const rows = (await this.ds.query(`SELECT * FROM resource_groups WHERE subscription_id = $1 ORDER BY lower(name)`, [
      ctx.subscriptionId,
    ])) as GroupRow[];
    return { status: 200, body: { value: rows.map((r) => this.toResource(r)) } };
  }

  /** DELETE: 202 + Location; deletes every registry in the group (with their storage), then the group. */
  async delete(ctx: ArmContext, name: string): Promise<ArmResponse> {
    const row = await this.find(ctx.subscriptionId, name);
    if (!row) throw resourceGroupNotFound(name);
    await this.ds.query(`UPDATE resource_groups SET provisioning_state = 'Deleting' WHERE id = $1`, [row.id]);
    const op = await this.operations.start(ctx.subscriptionId, async () => {
      const registries = (await this.ds.query(
        `UPDATE registries SET provisioning_state = 'Deleting', updated_at = now() WHERE resource_group_id = $1 RETURNING id`,
        [row.id],
      )) as [Array<{ id: string }>, number];
      for (const r of registries[0]) await this.deletion.purge(r.id);
      await this.ds.query(`DELETE FROM resource_groups WHERE id = $1`, [row.id]);
    });
    const urls = this.operations.urls(ctx.baseUrl, op, row.location, ctx.apiVersion);
    return { status: 202, headers: { Location: urls.location, 'Retry-After': '1' } };
  }

  private async find(sub: string, name: string): Promise<GroupRow | undefined> {
    const [row] = (await this.ds.query(
      `SELECT * FROM resource_groups WHERE subscription_id = $1 AND lower(name) = lower($2)`,
      [sub, name],
    )) as GroupRow[];
    return row;
  }

  private toResource(row: GroupRow): Record<string, unknown> {
    return {
      id: resourceGroupId(row.subscription_id, row.name),
      name: row.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: row.location,
      tags: row.tags,
      properties: { provisioningState: row.provisioning_state },
    };
  }
}
