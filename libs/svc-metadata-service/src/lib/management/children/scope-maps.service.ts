import { Injectable } from '@nestjs/common';
import { parseScopeMapAction } from '@berth/auth';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { badRequest, conflict } from '../arm/arm-error';
import { arr, obj, parseBody, readonly, str } from '../arm/body-shape.util';
import { checkName, childId, iso, systemData } from '../arm/arm-names.util';
import type { RegistryRow } from '../registries/registry-records.service';
import { RegistryChildService } from './registry-child.service';

const TYPE = 'Microsoft.ContainerRegistry/registries/scopeMaps';
const RO = { id: readonly, name: readonly, type: readonly, systemData: readonly };
const RO_PROPS = { type: readonly, creationDate: readonly, provisioningState: readonly };
const CREATE = obj(
  {
    ...RO,
    properties: obj({ ...RO_PROPS, description: str({ maxLength: 256 }), actions: arr(str({ maxLength: 1024 })) }, [
      'actions',
    ]),
  },
  ['properties'],
);
const UPDATE = obj({
  properties: obj({ description: str({ maxLength: 256 }), actions: arr(str({ maxLength: 1024 })) }),
});
const GATEWAY_ACTION = /^gateway\/[a-zA-Z0-9-]+\/(config|message)\/(read|write)$/;

export interface ScopeMapRow {
  id: string;
  name: string;
  description: string | null;
  type: 'UserDefined' | 'SystemDefined';
  actions: string[];
  provisioning_state: string;
  created_at: Date;
  updated_at: Date;
}

interface Body {
  properties?: { description?: string; actions?: string[] };
}

/** Scope maps (reference §4.8): user-defined ones within the tier's count; the system ones are read-only. */
@Injectable()
export class ScopeMapsService extends RegistryChildService<ScopeMapRow> {
  protected readonly table = 'scope_maps';
  protected readonly type = TYPE;

  async put(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    checkName('scopeMap', name);
    if (name.startsWith('_'))
      throw badRequest(
        'InvalidResourceName',
        'Names starting with an underscore are reserved for system scope maps.',
        'scopeMapName',
      );
    const body = parseBody<Body>(CREATE, ctx.body);
    const { reg, created } = await this.ds.transaction(async (tx) => {
      const reg = await this.records.get(ctx.subscriptionId, rg, registry, { db: tx, lock: true, live: true });
      const actions = this.actions(reg, body.properties?.actions ?? []);
      const existing = await this.existing(tx, reg, name);
      if (existing) {
        await tx.query(`UPDATE scope_maps SET description = $2, actions = $3, updated_at = now() WHERE id = $1`, [
          existing,
          body.properties?.description ?? null,
          actions,
        ]);
        return { reg, created: false };
      }
      await this.assertBelowLimit(tx, reg, this.tiers.tier(reg.sku).scopeMaps, 'scope maps', `type = 'UserDefined'`);
      await tx.query(`INSERT INTO scope_maps (registry_id, name, description, actions) VALUES ($1, $2, $3, $4)`, [
        reg.id,
        name,
        body.properties?.description ?? null,
        actions,
      ]);
      return { reg, created: true };
    });
    return this.putResponse(ctx, reg, name, created);
  }

  async patch(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const { body, reg, row } = await this.editing<Body>(ctx, UPDATE, rg, registry, name);
    this.refuseSystem(row);
    const actions = body.properties?.actions ? this.actions(reg, body.properties.actions) : row.actions;
    await this.ds.query(`UPDATE scope_maps SET description = $2, actions = $3, updated_at = now() WHERE id = $1`, [
      row.id,
      body.properties?.description ?? row.description,
      actions,
    ]);
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  override async delete(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const [row] = (await this.ds.query(`SELECT * FROM scope_maps WHERE registry_id = $1 AND lower(name) = lower($2)`, [
      reg.id,
      name,
    ])) as ScopeMapRow[];
    if (!row) return { status: 204 };
    this.refuseSystem(row);
    const used = (await this.ds.query(`SELECT name FROM tokens WHERE registry_id = $1 AND scope_map_id = $2 LIMIT 1`, [
      reg.id,
      row.id,
    ])) as Array<{ name: string }>;
    if (used[0])
      throw conflict(
        'ScopeMapInUse',
        `The scope map '${row.name}' is used by token '${used[0].name}'; delete or change the token first.`,
      );
    await this.ds.query(`DELETE FROM scope_maps WHERE id = $1`, [row.id]);
    return { status: 200 };
  }

  private actions(reg: RegistryRow, actions: string[]): string[] {
    const unique = [...new Set(actions.map((a) => a.trim()))];
    if (unique.length === 0)
      throw badRequest('InvalidScopeMapActions', 'A scope map needs at least one action.', 'properties.actions');
    const limit = this.tiers.tier(reg.sku).actionsPerScopeMap;
    if (limit >= 0 && unique.length > limit)
      throw badRequest(
        'InvalidScopeMapActions',
        `A scope map may have at most ${limit} actions.`,
        'properties.actions',
      );
    for (const a of unique) {
      if (!parseScopeMapAction(a) && !GATEWAY_ACTION.test(a)) {
        throw badRequest(
          'InvalidScopeMapActions',
          `'${a}' is not a scope map action (repositories/<name | prefix/* | *>/content/read|write|delete or .../metadata/read|write).`,
          'properties.actions',
        );
      }
    }
    return unique;
  }

  private refuseSystem(row: ScopeMapRow): void {
    if (row.type === 'SystemDefined')
      throw badRequest('SystemScopeMapReadOnly', `The system scope map '${row.name}' cannot be changed or deleted.`);
  }

  protected toResource(reg: RegistryRow, r: ScopeMapRow): Record<string, unknown> {
    return {
      id: childId(reg.subscription_id, reg.rg_name, reg.name, 'scopeMaps', r.name),
      name: r.name,
      type: TYPE,
      systemData: systemData(r),
      properties: {
        description: r.description ?? undefined,
        type: r.type,
        creationDate: iso(r.created_at),
        provisioningState: r.provisioning_state,
        actions: r.actions,
      },
    };
  }
}
