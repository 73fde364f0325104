import { All, Controller, Inject, Req, Res, UseFilters } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { REGISTRY_API_VERSIONS, checkApiVersion } from './arm/api-version.util';
import type { ArmContext, ArmResponse } from './arm/arm-context';
import { ArmError, subscriptionNotFound } from './arm/arm-error';
import { parseArmJson } from './arm/arm-body.hook';
import { ArmErrorFilter } from './arm/arm-error.filter';
import { ARM_IDENTITY, type ArmIdentity, type ArmOperation } from './arm/arm-identity.port';
import { registryId, resourceGroupId } from './arm/arm-names.util';
import { matchRoute, pattern } from './arm/arm-route.util';
import { OperationsService } from './arm/operations.service';
import { ReplicationsService } from './children/replications.service';
import { ScopeMapsService } from './children/scope-maps.service';
import { TokensService } from './children/tokens.service';
import { WebhooksService } from './children/webhooks.service';
import { ImportImageService } from './import/import-image.service';
import { RegistriesService } from './registries/registries.service';
import { ResourceGroupsService } from './resource-groups.service';
import { PROVIDER_OPERATIONS } from './provider-operations';

const RP = 'providers/Microsoft.ContainerRegistry';
const SUB = 'subscriptions/{sub}';
const REG = `${SUB}/resourceGroups/{rg}/${RP}/registries/{registry}`;

/** Every management route pattern (exported for the OpenAPI document's test). */
export const MANAGEMENT_ROUTES = [
  pattern('operations', `${RP}/operations`),
  pattern('subscriptions', 'subscriptions'),
  pattern('subscription', SUB),
  pattern('checkName', `${SUB}/${RP}/checkNameAvailability`),
  pattern('subRegistries', `${SUB}/${RP}/registries`),
  pattern('opStatus', `${SUB}/${RP}/locations/{location}/operationStatuses/{op}`),
  pattern('opResult', `${SUB}/${RP}/locations/{location}/operationResults/{op}`),
  pattern('groups', `${SUB}/resourcegroups`),
  pattern('group', `${SUB}/resourcegroups/{rg}`),
  pattern('rgRegistries', `${SUB}/resourceGroups/{rg}/${RP}/registries`),
  pattern('registry', REG),
  pattern('registryAction', `${REG}/{action}`),
  pattern('child', `${REG}/{collection}/{child}`),
  pattern('webhookAction', `${REG}/webhooks/{child}/{action}`),
] as const;

type RouteKey = (typeof MANAGEMENT_ROUTES)[number]['key'];
type Handler = (ctx: ArmContext, p: Record<string, string>) => Promise<ArmResponse>;
type Children = ReplicationsService | WebhooksService | ScopeMapsService | TokensService;

const READ_POSTS = new Set(['checkname']);

/**
 * The ARM-shaped management API (reference §4): every `/subscriptions/...` and `/providers/...` request. Routing is
 * by pattern with case-insensitive literal segments (ARM's paths are case-insensitive; Nest's router is not). Each
 * request is authenticated (identity bearer token), its api-version checked, the subscription must be visible to the
 * caller (else 404, as ARM answers), the caller's role must allow the operation at the resource's scope (else 403
 * AuthorizationFailed), and only then the handler runs. Errors are rendered in ARM's shape by ArmErrorFilter.
 */
@Controller()
@UseFilters(ArmErrorFilter)
export class ManagementController {
  private readonly collections: Record<string, Children>;

  constructor(
    @Inject(ARM_IDENTITY) private readonly identity: ArmIdentity,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    private readonly operations: OperationsService,
    private readonly groups: ResourceGroupsService,
    private readonly registries: RegistriesService,
    private readonly importer: ImportImageService,
    private readonly webhooks: WebhooksService,
    replications: ReplicationsService,
    scopeMaps: ScopeMapsService,
    tokens: TokensService,
  ) {
    this.collections = { replications, webhooks, scopemaps: scopeMaps, tokens };
  }

  // Fastify's router is case-sensitive: the usual spellings of the first segment are registered, the rest of the path
  // is matched case-insensitively below.
  @All([
    'subscriptions',
    'subscriptions/*',
    'Subscriptions/*',
    'SUBSCRIPTIONS/*',
    'providers/*',
    'Providers/*',
    'PROVIDERS/*',
  ])
  async handle(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.header('x-ms-request-id', req.id);
    const path = req.url.split('?')[0] ?? '';
    const route = matchRoute(MANAGEMENT_ROUTES, path);
    const query = (req.query ?? {}) as ArmContext['query'];
    const caller = await this.identity.authenticate(req.headers.authorization);
    if (!route)
      throw new ArmError(404, 'InvalidResourceType', `The resource path '${path}' is not served by this endpoint.`);
    const p = route.params;
    const method = req.method.toUpperCase();
    const apiVersion = checkApiVersion(query['api-version'], p['collection'] ?? 'registries', versionRange(route.key));

    const ctx: ArmContext = {
      caller,
      subscriptionId: (p['sub'] ?? '').toLowerCase(),
      apiVersion,
      baseUrl: this.baseUrl(req),
      body: undefined,
      query,
    };
    const handler = this.handler(route.key, method, p);
    if (!handler && !this.knownPath(route.key, p)) {
      throw new ArmError(404, 'InvalidResourceType', `The resource path '${path}' is not served by this endpoint.`);
    }
    if (!handler) {
      throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
    if (route.key !== 'operations' && route.key !== 'subscriptions') {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(ctx.subscriptionId)) {
        throw new ArmError(
          400,
          'InvalidSubscriptionId',
          `The provided subscription identifier '${p['sub'] ?? ''}' is malformed or invalid.`,
        );
      }
      if (!(await this.identity.seesSubscription(caller, ctx.subscriptionId)))
        throw subscriptionNotFound(p['sub'] ?? '');
      await this.authorize(ctx, route.key, method, p);
    }
    // The body is read only once the caller may act here (a hidden subscription answers 404 whatever was sent).
    ctx.body = parseArmJson(req.body);
    const res = await handler(ctx, p);
    for (const [k, v] of Object.entries(res.headers ?? {})) reply.header(k, v);
    reply.status(res.status);
    if (res.body === undefined || method === 'HEAD') await reply.send();
    else await reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(res.body));
  }

  /**
   * Where polling URLs point: BERTH_PUBLIC_URL when the request came to its host (so a TLS-terminating ingress
   * keeps the public scheme), else the scheme and host the request used.
   */
  private baseUrl(req: FastifyRequest): string {
    const host = req.headers.host ?? 'localhost';
    const pub = new URL(this.config.http.publicUrl);
    return pub.host.toLowerCase() === host.toLowerCase() ? pub.origin : `${req.protocol}://${host}`;
  }

  private async authorize(ctx: ArmContext, key: RouteKey, method: string, p: Record<string, string>): Promise<void> {
    const sub = ctx.subscriptionId;
    const scope =
      p['registry'] !== undefined && p['rg'] !== undefined
        ? registryId(sub, p['rg'], p['registry'])
        : p['rg'] !== undefined
          ? resourceGroupId(sub, p['rg'])
          : `/subscriptions/${sub}`;
    const op: ArmOperation =
      method === 'GET' || method === 'HEAD' || (method === 'POST' && READ_POSTS.has(key.toLowerCase()))
        ? 'read'
        : method === 'DELETE'
          ? 'delete'
          : 'write';
    // Lists at subscription level are filtered per item instead (a role on one resource group shows that group's).
    if ((key === 'subRegistries' || key === 'groups') && op === 'read') return;
    // Operation ids are random and bound to the subscription: whoever sees the subscription may poll them.
    if (key === 'opStatus' || key === 'opResult') return;
    if (await this.identity.may(ctx.caller, scope, op)) return;
    const action = `${key === 'group' ? 'Microsoft.Resources/subscriptions/resourceGroups' : 'Microsoft.ContainerRegistry/registries'}/${op === 'read' ? 'read' : op === 'delete' ? 'delete' : 'write'}`;
    throw new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${ctx.caller.clientId}' with object id '${ctx.caller.principalId}' does not have authorization to perform action ` +
        `'${action}' over scope '${scope}' or the scope is invalid.`,
    );
  }

  private handler(key: RouteKey, method: string, p: Record<string, string>): Handler | undefined {
    const rg = p['rg'] ?? '';
    const reg = p['registry'] ?? '';
    const on = (m: string, h: Handler): Handler | undefined => (method === m ? h : undefined);
    switch (key) {
      case 'operations':
        return on('GET', () => Promise.resolve({ status: 200, body: { value: PROVIDER_OPERATIONS } }));
      case 'subscriptions':
        return on('GET', (ctx) => this.subscriptions(ctx));
      case 'subscription':
        return on('GET', (ctx) => this.subscription(ctx));
      case 'checkName':
        return on('POST', (ctx) => this.registries.checkNameAvailability(ctx));
      case 'subRegistries':
        return on('GET', (ctx) => this.visibleRegistries(ctx));
      case 'opStatus':
        return on('GET', async (ctx) => {
          const op = await this.operations.get(ctx.subscriptionId, p['op'] ?? '');
          return {
            status: 200,
            body: {
              id: op.id,
              name: op.id,
              status: op.status,
              startTime: op.startTime,
              endTime: op.endTime,
              error: op.error,
            },
          };
        });
      case 'opResult':
        return on('GET', async (ctx) => {
          const op = await this.operations.get(ctx.subscriptionId, p['op'] ?? '');
          if (op.status === 'InProgress')
            return { status: 202, headers: { Location: `${ctx.baseUrl}${ctxPath(ctx, p)}`, 'Retry-After': '1' } };
          // 200 rather than 204: the generated clients accept only 200/201/202 from a Location poll.
          if (op.status === 'Succeeded') return { status: 200 };
          throw new ArmError(400, op.error?.code ?? 'OperationFailed', op.error?.message ?? 'The operation failed.');
        });
      case 'groups':
        return on('GET', (ctx) => this.visibleGroups(ctx));
      case 'group':
        return method === 'GET'
          ? (ctx) => this.groups.get(ctx, rg)
          : method === 'HEAD'
            ? (ctx) => this.groups.head(ctx, rg)
            : method === 'PUT'
              ? (ctx) => this.groups.put(ctx, rg)
              : method === 'DELETE'
                ? (ctx) => this.groups.delete(ctx, rg)
                : undefined;
      case 'rgRegistries':
        return on('GET', (ctx) => this.registries.list(ctx, rg));
      case 'registry':
        return method === 'GET'
          ? (ctx) => this.registries.get(ctx, rg, reg)
          : method === 'PUT'
            ? (ctx) => this.registries.put(ctx, rg, reg)
            : method === 'PATCH'
              ? (ctx) => this.registries.patch(ctx, rg, reg)
              : method === 'DELETE'
                ? (ctx) => this.registries.delete(ctx, rg, reg)
                : undefined;
      case 'registryAction':
        return this.registryAction(method, (p['action'] ?? '').toLowerCase(), rg, reg);
      case 'child':
        return this.child(method, (p['collection'] ?? '').toLowerCase(), rg, reg, p['child'] ?? '');
      case 'webhookAction': {
        const name = p['child'] ?? '';
        switch ((p['action'] ?? '').toLowerCase()) {
          case 'ping':
            return on('POST', (ctx) => this.webhooks.ping(ctx, rg, reg, name));
          case 'listevents':
            return on('POST', (ctx) => this.webhooks.listEvents(ctx, rg, reg, name));
          case 'getcallbackconfig':
            return on('POST', (ctx) => this.webhooks.getCallbackConfig(ctx, rg, reg, name));
          default:
            return undefined;
        }
      }
    }
  }

  /** Whether a matched pattern names a real resource type or action (a known path with another method is 405). */
  private knownPath(key: RouteKey, p: Record<string, string>): boolean {
    const action = (p['action'] ?? '').toLowerCase();
    if (key === 'child') return (p['collection'] ?? '').toLowerCase() in this.collections;
    if (key === 'webhookAction') return ['ping', 'listevents', 'getcallbackconfig'].includes(action);
    if (key === 'registryAction') {
      return (
        action in this.collections ||
        ['listcredentials', 'regeneratecredential', 'generatecredentials', 'importimage', 'listusages'].includes(action)
      );
    }
    return true;
  }

  private registryAction(method: string, action: string, rg: string, reg: string): Handler | undefined {
    const collection = this.collections[action];
    if (collection) return method === 'GET' ? (ctx) => collection.list(ctx, rg, reg) : undefined;
    const post = (h: Handler): Handler | undefined => (method === 'POST' ? h : undefined);
    switch (action) {
      case 'listcredentials':
        return post((ctx) => this.registries.listCredentials(ctx, rg, reg));
      case 'regeneratecredential':
        return post((ctx) => this.registries.regenerateCredential(ctx, rg, reg));
      case 'generatecredentials':
        return post((ctx) => (this.collections['tokens'] as TokensService).generateCredentials(ctx, rg, reg));
      case 'importimage':
        return post((ctx) => this.importer.importImage(ctx, rg, reg));
      case 'listusages':
        return method === 'GET' ? (ctx) => this.registries.listUsages(ctx, rg, reg) : undefined;
      default:
        return undefined;
    }
  }

  private child(method: string, collection: string, rg: string, reg: string, name: string): Handler | undefined {
    const svc = this.collections[collection];
    if (!svc) return undefined;
    switch (method) {
      case 'GET':
        return (ctx) => svc.get(ctx, rg, reg, name);
      case 'PUT':
        return (ctx) => svc.put(ctx, rg, reg, name);
      case 'PATCH':
        return (ctx) => svc.patch(ctx, rg, reg, name);
      case 'DELETE':
        return (ctx) => svc.delete(ctx, rg, reg, name);
      default:
        return undefined;
    }
  }

  private async subscription(ctx: ArmContext): Promise<ArmResponse> {
    const [row] = (await this.ds.query(`SELECT id, tenant_id, display_name, state FROM subscriptions WHERE id = $1`, [
      ctx.subscriptionId,
    ])) as SubscriptionRow[];
    if (!row) throw subscriptionNotFound(ctx.subscriptionId);
    return { status: 200, body: subscriptionResource(row) };
  }

  /** GET /subscriptions: the subscriptions of the caller's tenant in which it has a role assignment. */
  private async subscriptions(ctx: ArmContext): Promise<ArmResponse> {
    const rows = (await this.ds.query(
      `SELECT DISTINCT s.id, s.tenant_id, s.display_name, s.state FROM subscriptions s
         JOIN role_assignments a ON lower(a.scope) = '/subscriptions/' || s.id OR lower(a.scope) LIKE '/subscriptions/' || s.id || '/%'
        WHERE a.principal_id = $1 AND s.tenant_id = $2 ORDER BY s.id`,
      [ctx.caller.principalId, ctx.caller.tenantId],
    )) as SubscriptionRow[];
    return { status: 200, body: { value: rows.map(subscriptionResource) } };
  }

  private async visibleRegistries(ctx: ArmContext): Promise<ArmResponse> {
    const all = (await this.registries.list(ctx)).body as { value: Array<{ id: string }> };
    return { status: 200, body: { value: await this.visible(ctx, all.value) } };
  }

  private async visibleGroups(ctx: ArmContext): Promise<ArmResponse> {
    const all = (await this.groups.list(ctx)).body as { value: Array<{ id: string }> };
    return { status: 200, body: { value: await this.visible(ctx, all.value) } };
  }

  /** The items the caller may read: all with read on the subscription, else those whose own scope allows it. */
  private async visible<T extends { id: string }>(ctx: ArmContext, items: T[]): Promise<T[]> {
    if (await this.identity.may(ctx.caller, `/subscriptions/${ctx.subscriptionId}`, 'read')) return items;
    const out: T[] = [];
    for (const item of items) if (await this.identity.may(ctx.caller, item.id, 'read')) out.push(item);
    return out;
  }
}

interface SubscriptionRow {
  id: string;
  tenant_id: string;
  display_name: string;
  state: string;
}

function subscriptionResource(row: SubscriptionRow): Record<string, unknown> {
  return {
    id: `/subscriptions/${row.id}`,
    subscriptionId: row.id,
    tenantId: row.tenant_id,
    displayName: row.display_name,
    state: row.state,
  };
}

/** Microsoft.Resources accepts its own api-versions; operation URLs echo the version they were issued with. */
function versionRange(key: RouteKey): { oldest: string; newest: string } | null {
  return key === 'group' ||
    key === 'groups' ||
    key === 'subscription' ||
    key === 'subscriptions' ||
    key === 'opStatus' ||
    key === 'opResult'
    ? null
    : REGISTRY_API_VERSIONS;
}

function ctxPath(ctx: ArmContext, p: Record<string, string>): string {
  return `/subscriptions/${ctx.subscriptionId}/providers/Microsoft.ContainerRegistry/locations/${p['location'] ?? ''}/operationResults/${p['op'] ?? ''}?api-version=${ctx.apiVersion}`;
}
