import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { badRequest, resourceNotFound } from '../arm/arm-error';
import { CREDENTIAL_SECRETS, type CredentialSecrets } from '../arm/arm-identity.port';
import { obj, parseBody, readonly, str } from '../arm/body-shape.util';
import { checkName, childId, iso, parseChildId, systemData } from '../arm/arm-names.util';
import type { RegistryRow } from '../registries/registry-records.service';
import { GENERATE_CREDENTIALS } from '../registries/registry.shapes';
import { RegistryChildService } from './registry-child.service';

const TYPE = 'Microsoft.ContainerRegistry/registries/tokens';
const RO = { id: readonly, name: readonly, type: readonly, systemData: readonly };
const WRITABLE = {
  scopeMapId: str({ minLength: 1 }),
  status: str({ enum: ['enabled', 'disabled'] }),
  credentials: readonly,
};
const CREATE = obj(
  { ...RO, properties: obj({ ...WRITABLE, creationDate: readonly, provisioningState: readonly }, ['scopeMapId']) },
  ['properties'],
);
const UPDATE = obj({ properties: obj(WRITABLE) });
const WITH_SCOPE_MAP = `SELECT t.*, s.name AS scope_map_name FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id`;

interface TokenRow {
  id: string;
  name: string;
  scope_map_id: string;
  scope_map_name: string;
  status: string;
  password1_hash: string | null;
  password1_created_at: Date | null;
  password1_expires_at: Date | null;
  password2_hash: string | null;
  password2_created_at: Date | null;
  password2_expires_at: Date | null;
  provisioning_state: string;
  created_at: Date;
  updated_at: Date;
}

interface Body {
  properties?: { scopeMapId?: string; status?: string };
}

/**
 * Repository-scoped tokens (reference §4.8): each bound to a scope map of the same registry; passwords are created
 * by generateCredentials, shown once and stored only as hashes.
 */
@Injectable()
export class TokensService extends RegistryChildService<TokenRow> {
  protected readonly table = 'tokens';
  protected readonly type = TYPE;

  @Inject(CREDENTIAL_SECRETS) private readonly secrets!: CredentialSecrets;

  /** Tokens with their scope map's name (their scopeMapId is built from it). */
  protected override async rows(reg: RegistryRow): Promise<TokenRow[]> {
    return (await this.ds.query(`${WITH_SCOPE_MAP} WHERE t.registry_id = $1 ORDER BY lower(t.name)`, [
      reg.id,
    ])) as TokenRow[];
  }

  async put(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    checkName('token', name);
    const body = parseBody<Body>(CREATE, ctx.body);
    const { reg, created } = await this.ds.transaction(async (tx) => {
      const reg = await this.records.get(ctx.subscriptionId, rg, registry, { db: tx, lock: true, live: true });
      const scopeMapId = await this.scopeMap(reg, body.properties?.scopeMapId ?? '', tx);
      const existing = await this.existing(tx, reg, name);
      if (existing) {
        await tx.query(`UPDATE tokens SET scope_map_id = $2, status = $3, updated_at = now() WHERE id = $1`, [
          existing,
          scopeMapId,
          body.properties?.status ?? 'enabled',
        ]);
        return { reg, created: false };
      }
      await this.assertBelowLimit(tx, reg, this.tiers.tier(reg.sku).tokens, 'tokens');
      await tx.query(`INSERT INTO tokens (registry_id, name, scope_map_id, status) VALUES ($1, $2, $3, $4)`, [
        reg.id,
        name,
        scopeMapId,
        body.properties?.status ?? 'enabled',
      ]);
      return { reg, created: true };
    });
    return this.putResponse(ctx, reg, name, created);
  }

  async patch(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const { body, reg, row } = await this.editing<Body>(ctx, UPDATE, rg, registry, name);
    const scopeMapId = body.properties?.scopeMapId
      ? await this.scopeMap(reg, body.properties.scopeMapId, this.ds)
      : row.scope_map_id;
    await this.ds.query(`UPDATE tokens SET scope_map_id = $2, status = $3, updated_at = now() WHERE id = $1`, [
      row.id,
      scopeMapId,
      body.properties?.status ?? row.status,
    ]);
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  /** POST registries/{r}/generateCredentials: new password1 and/or password2 for a token, values shown once. */
  async generateCredentials(ctx: ArmContext, rg: string, registry: string): Promise<ArmResponse> {
    const body = parseBody<{ tokenId?: string; expiry?: string; name?: 'password1' | 'password2' }>(
      GENERATE_CREDENTIALS,
      ctx.body,
    );
    const ref = body.tokenId ? parseChildId(body.tokenId, 'tokens') : undefined;
    if (
      !ref ||
      ref.subscriptionId !== ctx.subscriptionId ||
      ref.resourceGroup.toLowerCase() !== rg.toLowerCase() ||
      ref.registry.toLowerCase() !== registry.toLowerCase()
    ) {
      throw badRequest('InvalidTokenId', 'tokenId must be the resource id of a token of this registry.', 'tokenId');
    }
    if (body.expiry && Date.parse(body.expiry) <= Date.now())
      throw badRequest('InvalidExpiry', 'The expiry must be in the future.', 'expiry');
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const token = await this.find(reg, ref.name);
    const names = body.name ? [body.name] : (['password1', 'password2'] as const);
    const now = new Date();
    const passwords = [];
    for (const n of names) {
      const value = this.secrets.generate();
      const hash = await this.secrets.hash(value);
      await this.ds.query(
        `UPDATE tokens SET ${n}_hash = $2, ${n}_created_at = $3, ${n}_expires_at = $4, updated_at = now() WHERE id = $1`,
        [token.id, hash, now, body.expiry ?? null],
      );
      passwords.push({
        creationTime: now.toISOString(),
        ...(body.expiry ? { expiry: body.expiry } : {}),
        name: n,
        value,
      });
    }
    return { status: 200, body: { username: token.name, passwords } };
  }

  private async scopeMap(reg: RegistryRow, id: string, db: Pick<DataSource, 'query'>): Promise<string> {
    const ref = parseChildId(id, 'scopeMaps');
    if (
      !ref ||
      ref.subscriptionId !== reg.subscription_id ||
      ref.registry.toLowerCase() !== reg.name.toLowerCase() ||
      ref.resourceGroup.toLowerCase() !== reg.rg_name.toLowerCase()
    ) {
      throw badRequest(
        'InvalidScopeMapId',
        'scopeMapId must be the resource id of a scope map of the same registry.',
        'properties.scopeMapId',
      );
    }
    const [row] = (await db.query(`SELECT id FROM scope_maps WHERE registry_id = $1 AND lower(name) = lower($2)`, [
      reg.id,
      ref.name,
    ])) as Array<{ id: string }>;
    if (!row)
      throw badRequest(
        'ScopeMapNotFound',
        `The scope map '${ref.name}' does not exist in registry '${reg.name}'.`,
        'properties.scopeMapId',
      );
    return row.id;
  }

  protected override async find(reg: RegistryRow, name: string): Promise<TokenRow> {
    const [row] = (await this.ds.query(`${WITH_SCOPE_MAP} WHERE t.registry_id = $1 AND lower(t.name) = lower($2)`, [
      reg.id,
      name,
    ])) as TokenRow[];
    if (!row) throw resourceNotFound(TYPE, `${reg.name}/${name}`, reg.rg_name);
    return row;
  }

  protected toResource(reg: RegistryRow, r: TokenRow): Record<string, unknown> {
    const passwords = (['password1', 'password2'] as const).flatMap((n) => {
      const created = r[`${n}_created_at`];
      if (!r[`${n}_hash`] || !created) return [];
      const expiry = r[`${n}_expires_at`];
      return [{ name: n, creationTime: iso(created), ...(expiry ? { expiry: iso(expiry) } : {}) }];
    });
    return {
      id: childId(reg.subscription_id, reg.rg_name, reg.name, 'tokens', r.name),
      name: r.name,
      type: TYPE,
      systemData: systemData(r),
      properties: {
        creationDate: iso(r.created_at),
        provisioningState: r.provisioning_state,
        scopeMapId: childId(reg.subscription_id, reg.rg_name, reg.name, 'scopeMaps', r.scope_map_name),
        status: r.status,
        credentials: { certificates: [], passwords },
      },
    };
  }
}
