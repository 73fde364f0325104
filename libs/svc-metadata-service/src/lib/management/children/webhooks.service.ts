import { Injectable } from '@nestjs/common';
import { RegistryTopics, buildWebhookPingEvent, notifyOutbox, writeOutboxEvent } from '@berth/events';
import { SsrfRefusedError, assertAllowedDestination } from '@berth/ssrf';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { badRequest } from '../arm/arm-error';
import { TAGS, arr, map, obj, parseBody, readonly, str } from '../arm/body-shape.util';
import { checkName, childId, normaliseLocation, systemData } from '../arm/arm-names.util';
import type { RegistryRow } from '../registries/registry-records.service';
import { RegistryChildService } from './registry-child.service';

const TYPE = 'Microsoft.ContainerRegistry/registries/webhooks';
const ACTIONS = ['push', 'delete', 'quarantine', 'chart_push', 'chart_delete'] as const;
const RO = { id: readonly, name: readonly, type: readonly, systemData: readonly };
const WRITABLE = {
  serviceUri: str({ minLength: 1, maxLength: 2048 }),
  customHeaders: map(str({ maxLength: 4096 }), 50),
  status: str({ enum: ['enabled', 'disabled'] }),
  scope: str({ maxLength: 512 }),
  actions: arr(str({ enum: ACTIONS }), ACTIONS.length),
};
const CREATE = obj(
  {
    ...RO,
    location: str({ minLength: 1 }),
    tags: TAGS,
    properties: obj({ ...WRITABLE, provisioningState: readonly }, ['serviceUri', 'actions']),
  },
  ['location', 'properties'],
);
const UPDATE = obj({ tags: TAGS, location: str({ minLength: 1 }), properties: obj(WRITABLE) });
const LIST_EVENTS_PAGE = 100;

interface WebhookRow {
  id: string;
  name: string;
  location: string;
  service_uri: string;
  custom_headers: Record<string, string>;
  status: string;
  scope: string;
  actions: string[];
  tags: Record<string, string>;
  provisioning_state: string;
  created_at: Date;
  updated_at: Date;
}

interface Body {
  location?: string;
  tags?: Record<string, string>;
  properties?: {
    serviceUri?: string;
    customHeaders?: Record<string, string>;
    status?: string;
    scope?: string;
    actions?: string[];
  };
}

/**
 * Webhook records (reference §4.7): create/update refuse destinations the dispatcher may not call (SSRF guard of
 * @berth/ssrf with BERTH_WEBHOOK_ALLOWED_PRIVATE), the tier's webhook count is enforced, `serviceUri` and
 * `customHeaders` are only returned by getCallbackConfig; ping writes an outbox event for that webhook alone;
 * listEvents reads the dispatcher's delivery log.
 */
@Injectable()
export class WebhooksService extends RegistryChildService<WebhookRow> {
  protected readonly table = 'webhooks';
  protected readonly type = TYPE;

  async put(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    checkName('webhook', name);
    const body = parseBody<Body>(CREATE, ctx.body);
    const p = body.properties ?? {};
    if (!p.actions?.length)
      throw badRequest('InvalidWebhookActions', 'A webhook needs at least one action.', 'properties.actions');
    await this.vetDestination(p.serviceUri ?? '');
    const { reg, created } = await this.ds.transaction(async (tx) => {
      const reg = await this.records.get(ctx.subscriptionId, rg, registry, { db: tx, lock: true, live: true });
      const location = await this.location(reg, body.location ?? '');
      const existing = await this.existing(tx, reg, name);
      const values = [
        location,
        p.serviceUri,
        JSON.stringify(p.customHeaders ?? {}),
        p.status ?? 'enabled',
        p.scope ?? '',
        [...new Set(p.actions)],
        JSON.stringify(body.tags ?? {}),
      ];
      if (existing) {
        await tx.query(
          `UPDATE webhooks SET location = $2, service_uri = $3, custom_headers = $4, status = $5, scope = $6, actions = $7, tags = $8,
                  updated_at = now() WHERE id = $1`,
          [existing, ...values],
        );
        return { reg, created: false };
      }
      await this.assertBelowLimit(tx, reg, this.tiers.tier(reg.sku).webhooks, 'webhooks');
      await tx.query(
        `INSERT INTO webhooks (registry_id, name, location, service_uri, custom_headers, status, scope, actions, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [reg.id, name, ...values],
      );
      return { reg, created: true };
    });
    return this.putResponse(ctx, reg, name, created);
  }

  async patch(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const body = parseBody<Body>(UPDATE, ctx.body);
    const p = body.properties ?? {};
    if (p.serviceUri !== undefined) await this.vetDestination(p.serviceUri);
    if (p.actions !== undefined && p.actions.length === 0)
      throw badRequest('InvalidWebhookActions', 'A webhook needs at least one action.', 'properties.actions');
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const row = await this.find(reg, name);
    const location = body.location === undefined ? row.location : await this.location(reg, body.location);
    await this.ds.query(
      `UPDATE webhooks SET location = $2, service_uri = $3, custom_headers = $4, status = $5, scope = $6, actions = $7, tags = $8,
              updated_at = now() WHERE id = $1`,
      [
        row.id,
        location,
        p.serviceUri ?? row.service_uri,
        JSON.stringify(p.customHeaders ?? row.custom_headers),
        p.status ?? row.status,
        p.scope ?? row.scope,
        p.actions ? [...new Set(p.actions)] : row.actions,
        JSON.stringify(body.tags ?? row.tags),
      ],
    );
    return { status: 200, body: this.toResource(reg, await this.find(reg, name)) };
  }

  /** POST ping: one `ping` event in the outbox (committed with NOTIFY); the dispatcher delivers it to this webhook only. */
  async ping(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry, { live: true });
    const row = await this.find(reg, name);
    const event = buildWebhookPingEvent({ registryId: reg.id, webhookId: row.id });
    await this.ds.transaction(async (tx) => {
      await writeOutboxEvent(tx, { topic: RegistryTopics.Events, envelope: event });
      await notifyOutbox(tx);
    });
    return { status: 200, body: { id: event.id } };
  }

  /** POST listEvents: the delivery log, newest first, in ACR's Event shape; `$skipToken` pages. */
  async listEvents(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    const row = await this.find(reg, name);
    const skip = Number(ctx.query['$skipToken'] ?? 0);
    const offset = Number.isSafeInteger(skip) && skip > 0 ? skip : 0;
    const rows = (await this.ds.query(
      `SELECT event_id, request, response FROM webhook_deliveries WHERE webhook_id = $1
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [row.id, LIST_EVENTS_PAGE + 1, offset],
    )) as Array<{ event_id: string; request: unknown; response: { eventResponseMessage?: unknown } | null }>;
    const page = rows.slice(0, LIST_EVENTS_PAGE);
    const body: Record<string, unknown> = {
      value: page.map((d) => ({
        id: d.event_id,
        eventRequestMessage: d.request,
        ...(d.response?.eventResponseMessage ? { eventResponseMessage: d.response.eventResponseMessage } : {}),
      })),
    };
    if (rows.length > LIST_EVENTS_PAGE) {
      body['nextLink'] =
        `${ctx.baseUrl}${childId(reg.subscription_id, reg.rg_name, reg.name, 'webhooks', row.name)}/listEvents?api-version=${ctx.apiVersion}&$skipToken=${offset + LIST_EVENTS_PAGE}`;
    }
    return { status: 200, body };
  }

  /** POST getCallbackConfig: the secret parts a GET does not return. */
  async getCallbackConfig(ctx: ArmContext, rg: string, registry: string, name: string): Promise<ArmResponse> {
    const reg = await this.records.get(ctx.subscriptionId, rg, registry);
    const row = await this.find(reg, name);
    return { status: 200, body: { serviceUri: row.service_uri, customHeaders: row.custom_headers } };
  }

  private async vetDestination(uri: string): Promise<void> {
    try {
      await assertAllowedDestination(uri, this.config.webhookAllowedPrivate);
    } catch (err) {
      if (err instanceof SsrfRefusedError)
        throw badRequest(
          'InvalidServiceUri',
          `The webhook service URI is not allowed: ${err.message}`,
          'properties.serviceUri',
        );
      throw err;
    }
  }

  /** A webhook lives in the home region or one of the registry's replica regions (reference §4.7). */
  private async location(reg: RegistryRow, value: string): Promise<string> {
    const location = normaliseLocation(value);
    if (location === reg.location) return location;
    const rep = (await this.ds.query(`SELECT 1 FROM replications WHERE registry_id = $1 AND location = $2`, [
      reg.id,
      location,
    ])) as unknown[];
    if (rep.length === 0) {
      throw badRequest(
        'InvalidWebhookLocation',
        `The webhook location '${value}' is neither the registry's home region nor one of its replications.`,
        'location',
      );
    }
    return location;
  }

  protected toResource(reg: RegistryRow, r: WebhookRow): Record<string, unknown> {
    return {
      id: childId(reg.subscription_id, reg.rg_name, reg.name, 'webhooks', r.name),
      name: r.name,
      type: TYPE,
      location: r.location,
      tags: r.tags,
      systemData: systemData(r),
      properties: { status: r.status, scope: r.scope, actions: r.actions, provisioningState: r.provisioning_state },
    };
  }
}
