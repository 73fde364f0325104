import { Inject, Injectable } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import { TierCatalog } from '@berth/tiers';
import type { DataSource, EntityManager } from 'typeorm';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { ArmError, resourceNotFound } from '../arm/arm-error';
import { parseBody, type Shape } from '../arm/body-shape.util';
import { OperationsService } from '../arm/operations.service';
import { RegistryRecords, type RegistryRow } from '../registries/registry-records.service';

/** A row of a registry child table: every one has a name (unique per registry, ignoring case). */
export interface ChildRow {
  id: string;
  name: string;
}

/**
 * What the registry child resources (replications, webhooks, scope maps, tokens) share: list, get and delete by
 * case-insensitive name within the registry, the tier's count limit, and the LRO-shaped 201 of a creation. Every
 * query is scoped by the registry id the caller's subscription and resource group resolved to. Subclasses inherit
 * the constructor (and its injections).
 */
@Injectable()
export abstract class RegistryChildService<Row extends ChildRow> {
  protected abstract readonly table: 'replications' | 'webhooks' | 'scope_maps' | 'tokens';
  protected abstract readonly type: string;

  constructor(
    @Inject(DATA_SOURCE) protected readonly ds: DataSource,
    @Inject(BERTH_CONFIG) protected readonly config: BerthConfig,
    protected readonly records: RegistryRecords,
    protected readonly operations: OperationsService,
    protected readonly tiers: TierCatalog,
  ) {}

  protected abstract toResource(reg: RegistryRow, row: Row): Record<string, unknown>;

  async list(ctx: ArmContext, rg: string, registry: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    return { status: 200, body: { value: (await this.rows(reg)).map((r) => this.toResource(reg, r)) } };
  }

  async get(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  /** DELETE: 200 when it existed, 204 when not (ARM's answers). */
  async delete(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const done = (await this.ds.query(`DELETE FROM ${this.table} WHERE registry_id = $1 AND lower(name) = lower($2)`, [
      reg.id,
      name,
    ])) as [unknown, number];
    return { status: done[1] > 0 ? 200 : 204 };
  }

  /** A PATCH's start: the checked body, the (live) registry and the row to change (404 when absent). */
  protected async editing<B>(
    ctx: ArmContext,
    shape: Shape,
    rg: string,
    registry: string,
    name: string,
  ): Promise<{ body: B; reg: RegistryRow; row: Row }> {
    const body = parseBody<B>(shape, ctx.body);
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    return { body, reg, row: await this.find(reg, name) };
  }

  /** The registry's rows, by name. */
  protected async rows(reg: RegistryRow): Promise<Row[]> {
    return (await this.ds.query(`SELECT * FROM ${this.table} WHERE registry_id = $1 ORDER BY lower(name)`, [
      reg.id,
    ])) as Row[];
  }

  /** The row or 404 ResourceNotFound. */
  protected async find(reg: RegistryRow, name: string, db: DataSource | EntityManager = this.ds): Promise<Row> {
    const [row] = (await db.query(`SELECT * FROM ${this.table} WHERE registry_id = $1 AND lower(name) = lower($2)`, [
      reg.id,
      name,
    ])) as Row[];
    if (!row) throw resourceNotFound(this.type, `${reg.name}/${name}`, reg.rg_name);
    return row;
  }

  /** The id of the row named `name`, if any (inside a creation's transaction). */
  protected async existing(tx: EntityManager, reg: RegistryRow, name: string): Promise<string | undefined> {
    const [row] = (await tx.query(`SELECT id FROM ${this.table} WHERE registry_id = $1 AND lower(name) = lower($2)`, [
      reg.id,
      name,
    ])) as Array<{
      id: string;
    }>;
    return row?.id;
  }

  /** 409 QuotaExceeded when the registry already has `limit` rows (-1: unlimited) matching `where`. */
  protected async assertBelowLimit(
    tx: EntityManager,
    reg: RegistryRow,
    limit: number,
    noun: string,
    where = 'true',
  ): Promise<void> {
    if (limit < 0) return;
    const [c] = (await tx.query(`SELECT count(*)::int AS n FROM ${this.table} WHERE registry_id = $1 AND ${where}`, [
      reg.id,
    ])) as Array<{
      n: number;
    }>;
    if ((c?.n ?? 0) >= limit) throw quotaExceeded(noun, limit, reg.sku);
  }

  /** The answer to a PUT: 200 for an update; 201 with an (already finished) Azure-AsyncOperation for a creation. */
  protected async putResponse(
    ctx: ArmContext,
    reg: RegistryRow,
    name: string,
    created: boolean,
    location = reg.location,
  ): Promise<ArmResponse> {
    const body = this.toResource(reg, await this.find(reg, name));
    if (!created) return { status: 200, body };
    const op = await this.operations.start(ctx.subscriptionId);
    return {
      status: 201,
      body,
      headers: {
        'Azure-AsyncOperation': this.operations.urls(ctx.baseUrl, op, location, ctx.apiVersion).asyncOperation,
      },
    };
  }
}

/** A count limit of the tier reached (409 QuotaExceeded). */
export function quotaExceeded(noun: string, limit: number, sku: string): ArmError {
  return new ArmError(409, 'QuotaExceeded', `The ${sku} tier allows at most ${limit} ${noun} per registry.`);
}
