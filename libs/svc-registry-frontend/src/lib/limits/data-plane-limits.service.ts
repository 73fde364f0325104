import { Inject, Injectable } from '@nestjs/common';
import { CACHE_STORE, CacheError, type CounterStore, type WindowCount } from '@berth/cache';
import { DATA_SOURCE, storedBytesQuery } from '@berth/db';
import { RegistryError } from '@berth/oci';
import { BerthSpanAttr, berthMetrics, untracedBookkeeping } from '@berth/telemetry';
import { ROOT_LOGGER } from '@berth/platform';
import {
  THROTTLE_MESSAGE,
  THROTTLE_WINDOW_SECONDS,
  TierCatalog,
  decide,
  storageFits,
  throttleBuckets,
  throttleCategories,
  type ThrottleCategory,
} from '@berth/tiers';
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { RegistryRef } from '../registry/registry-ref';

const COUNTED = Symbol('berth.rateCounted');

type CountedRequest = FastifyRequest & { [COUNTED]?: boolean };

/** Whether the request was counted in the request-rate buckets (or deliberately left uncounted, see markRateCounted). */
export function rateCounted(req: FastifyRequest): boolean {
  return (req as CountedRequest)[COUNTED] === true;
}

/** Marks a request as counted (or as one that is not to be counted: refused by the network rules). */
export function markRateCounted(req: FastifyRequest): void {
  (req as CountedRequest)[COUNTED] = true;
}

/** Network settings are re-read at most this often per registry (as the registry resolver caches registries). */
const NETWORK_TTL_MS = 5000;
/** While the counter store is down, one warning per this interval (not one per request). */
const OUTAGE_LOG_INTERVAL_MS = 10_000;

interface NetworkPolicy {
  at: number;
  publicAccess: boolean;
  /** Undefined: every address is allowed (defaultAction Allow, or a tier without IP rules). */
  allowed?: BlockList;
}

/**
 * The data plane's tier limits (reference §10, §1.1): request rates per registry and per identity in fixed one-minute
 * windows of the shared counter store (Redis when distributed, so all frontend processes count together), the
 * storage limit, and the registry's network rules. Every refusal is a RegistryError the OCI filter renders. While
 * the counter store is down, requests are not throttled (fail open, logged): a Redis outage must not stop pulls.
 */
@Injectable()
export class DataPlaneLimits {
  private readonly network = new Map<string, NetworkPolicy>();
  private readonly loadingPolicy = new Map<string, Promise<NetworkPolicy>>();
  private readonly logger: Logger;
  private lastOutageLog = 0;

  constructor(
    @Inject(CACHE_STORE) private readonly counters: CounterStore,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(ROOT_LOGGER) logger: Logger,
    private readonly tiers: TierCatalog,
  ) {
    this.logger = logger.child({ component: 'data-plane-limits' });
  }

  /** The categories a request counts in (by method; a referrers listing also counts as ListReferrers). */
  categories(method: string, path: string): ThrottleCategory[] {
    return throttleCategories(method, /\/referrers\/[^/]+$/.test(path));
  }

  /** Counts the request in the registry-wide buckets; 429 TOOMANYREQUESTS with Retry-After when over. */
  checkRegistry(registry: RegistryRef, categories: readonly ThrottleCategory[]): Promise<void> {
    return this.count(registry, categories, undefined);
  }

  /**
   * Counts the request in the registry-wide buckets and, with `identityKey` (the authenticated subject id, e.g.
   * `principal:<id>`, `admin:<registryId>`, `token:<id>`, `anonymous`), the caller's buckets within the registry, in
   * one counter-store call (one Redis round trip); 429 when any is over. Without `identityKey` (the caller could not
   * be authenticated) only the registry-wide buckets are counted, so floods of unauthenticated requests still count
   * against the registry. `req`, when given, is marked as counted (see `rateCounted`).
   */
  checkRequest(
    registry: RegistryRef,
    identityKey: string | undefined,
    categories: readonly ThrottleCategory[],
    req?: FastifyRequest,
  ): Promise<void> {
    if (req) (req as CountedRequest)[COUNTED] = true;
    return this.count(registry, categories, identityKey);
  }

  /**
   * Refuses (403 DENIED) content that would take the registry over its tier's storage limit. `addBytes` is what the
   * request adds; content already stored counts once (blobs and manifests of the registry, as summed by the
   * `usage_counters` rows `storage_bytes:<n>`); `usedBytes`, when the caller read that sum already (an upload's PATCH or
   * PUT: lookUpUploadForLimits), saves the statement.
   */
  async checkStorage(registry: RegistryRef, addBytes: number, usedBytes?: number): Promise<void> {
    if (addBytes <= 0) return;
    const tier = this.tiers.tier(registry.sku);
    if (tier.storageLimitBytes < 0) return;
    // The registry's blob and manifest bytes, kept current by triggers in the writing transactions (migration
    // StorageUsageCounters): a few counter rows, however much the registry stores.
    const [row] =
      usedBytes === undefined
        ? ((await this.ds.query(storedBytesQuery('$1'), [registry.id])) as Array<{ bytes: string }>)
        : [{ bytes: String(usedBytes) }];
    const used = Number(row?.bytes ?? 0);
    if (!storageFits(tier, used, addBytes)) {
      berthMetrics().quotaRefused({ quota: 'storage', sku: registry.sku });
      throw new RegistryError(
        'DENIED',
        `storage quota exceeded: the registry stores ${used} bytes and the ${registry.sku} tier's limit is ${tier.storageLimitBytes} bytes`,
        { limitBytes: tier.storageLimitBytes, usedBytes: used, requestBytes: addBytes },
      );
    }
  }

  /**
   * Refuses (403 DENIED) a client the registry's network rules exclude: public network access disabled, or (Premium)
   * `networkRuleSet.defaultAction: Deny` with no IP rule matching the client address.
   */
  checkNetwork(registry: RegistryRef, clientIp: string): void | Promise<void> {
    // Synchronous while the registry's policy is cached (nearly always): no promise on the hot path.
    const hit = this.network.get(registry.id);
    if (hit && Date.now() - hit.at < NETWORK_TTL_MS) return enforceNetwork(hit, clientIp);
    // One read per registry at a time: when the policy expires under load, every request in flight waits for it.
    let loading = this.loadingPolicy.get(registry.id);
    if (!loading) {
      loading = this.policy(registry).finally(() => this.loadingPolicy.delete(registry.id));
      this.loadingPolicy.set(registry.id, loading);
    }
    return loading.then((policy) => enforceNetwork(policy, clientIp));
  }

  /** Without `async` (one promise of its own): every data-plane request passes here. */
  private count(
    registry: RegistryRef,
    categories: readonly ThrottleCategory[],
    identityKey: string | undefined,
  ): Promise<void> {
    const tier = this.tiers.tier(registry.sku);
    const buckets = throttleBuckets(tier, registry.id, categories);
    if (identityKey !== undefined) buckets.push(...throttleBuckets(tier, registry.id, categories, identityKey));
    if (buckets.length === 0) return Promise.resolve();
    let counted: Promise<WindowCount[]>;
    try {
      // Berth's own per-request bookkeeping: no Redis span of its own (every other Redis call stays traced); the
      // request's server span says it was counted (berth.rate_counted). A traced GET's spans: 2 → 1.
      counted = untracedBookkeeping(BerthSpanAttr.RateCounted, () =>
        this.counters.incrementWindows(
          buckets.map((b) => b.key),
          1,
          THROTTLE_WINDOW_SECONDS,
        ),
      );
    } catch (err) {
      counted = Promise.reject(err);
    }
    return counted.then(
      (windows) => {
        const decision = decide(
          buckets.map((bucket, i) => ({ bucket, count: windows[i]?.count ?? 0, resetsInSeconds: windows[i]?.resetsInSeconds ?? 1 })),
        );
        if (!decision.allowed) {
          throw new RegistryError('TOOMANYREQUESTS', THROTTLE_MESSAGE, undefined, 429, {
            'Retry-After': String(decision.retryAfterSeconds),
          });
        }
      },
      (err: unknown) => {
        // ACR's limits are best effort: while the counter store is down, requests are served uncounted.
        if (!(err instanceof CacheError)) throw err;
        if (Date.now() - this.lastOutageLog > OUTAGE_LOG_INTERVAL_MS) {
          this.lastOutageLog = Date.now();
          this.logger.warn({ err }, 'request counters unavailable: throttling is suspended until they return');
        }
      },
    );
  }

  private async policy(registry: RegistryRef): Promise<NetworkPolicy> {
    const [row] = (await this.ds.query(`SELECT properties FROM registries WHERE id = $1`, [registry.id])) as Array<{
      properties: {
        publicNetworkAccess?: string;
        networkRuleSet?: { defaultAction?: string; ipRules?: Array<{ value: string }> };
      };
    }>;
    const props = row?.properties ?? {};
    const policy: NetworkPolicy = { at: Date.now(), publicAccess: props.publicNetworkAccess !== 'Disabled' };
    if (this.tiers.tier(registry.sku).features.ipRules && props.networkRuleSet?.defaultAction === 'Deny') {
      const list = new BlockList();
      for (const rule of props.networkRuleSet.ipRules ?? []) {
        const [addr, prefix] = rule.value.split('/');
        if (addr && isIP(addr) === 4) list.addSubnet(addr, prefix === undefined ? 32 : Number(prefix), 'ipv4');
      }
      policy.allowed = list;
    }
    if (this.network.size > 10_000) this.network.clear();
    this.network.set(registry.id, policy);
    return policy;
  }
}

function enforceNetwork(policy: NetworkPolicy, clientIp: string): void {
  if (!policy.publicAccess) {
    throw new RegistryError(
      'DENIED',
      `client with IP '${clientIp}' is not allowed access: the registry's public network access is disabled`,
    );
  }
  if (!policy.allowed) return;
  const ip = clientIp.replace(/^::ffff:/i, '');
  if (isIP(ip) === 4 && policy.allowed.check(ip, 'ipv4')) return;
  throw new RegistryError(
    'DENIED',
    `client with IP '${clientIp}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`,
  );
}
