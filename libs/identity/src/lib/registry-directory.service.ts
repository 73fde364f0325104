import { Inject, Injectable } from '@nestjs/common';
import { registryArmId } from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG } from '@berth/platform';
import { isIP } from 'node:net';
import type { DataSource } from 'typeorm';
import type { RegistryFacts } from './registry-facts';

/** How long loaded registry facts are reused; admin-user and anonymous-pull changes take effect within this. */
const CACHE_TTL_MS = 5000;
const MAX_CACHED = 10000;

interface RegistryRow {
  id: string;
  name: string;
  sku: RegistryFacts['sku'];
  admin_user_enabled: boolean;
  anonymous_pull_enabled: boolean;
  subscription_id: string;
  resource_group_name: string;
  tenant_id: string;
}

const SELECT = `SELECT r.id, r.name, r.sku, r.admin_user_enabled, r.anonymous_pull_enabled, r.subscription_id,
                       g.name AS resource_group_name, s.tenant_id
                  FROM registries r
                  JOIN resource_groups g ON g.id = r.resource_group_id
                  JOIN subscriptions s ON s.id = r.subscription_id
                 WHERE r.provisioning_state = 'Succeeded'`;

/**
 * Finds registries for the identity services: by id, or by the `service` a token request names (the canonical
 * login server `<name>.<suffix>`, or the bare host — localhost, an IP, the suffix — for the default registry),
 * falling back to the request's Host header. Unknown registries resolve to undefined, never an error that
 * would tell one tenant about another's registries.
 */
@Injectable()
export class RegistryDirectory {
  private readonly cache = new Map<string, { at: number; facts: RegistryFacts | undefined }>();
  private readonly loading = new Map<string, Promise<RegistryFacts | undefined>>();
  private readonly suffix: string;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {
    this.suffix = config.loginSuffix.toLowerCase();
  }

  /** The canonical login server of a registry name. */
  canonicalLoginServer(name: string): string {
    return `${name}.${this.suffix}`.toLowerCase();
  }

  /** The registry name a `service` value or Host header addresses (pure), or undefined. */
  nameFromHost(value: string | undefined): string | undefined {
    const host = stripPort((value ?? '').trim().toLowerCase());
    if (!host) return undefined;
    if (host === 'localhost' || isIP(host) || host === this.suffix) return this.config.bootstrap.defaultRegistry;
    if (host.endsWith(`.${this.suffix}`)) {
      const labels = host.slice(0, -(this.suffix.length + 1)).split('.');
      if (labels.length === 1 && labels[0]) return labels[0];
      if (labels.length === 3 && labels[2] === 'geo' && labels[0]) return labels[0];
    }
    return undefined;
  }

  /** The registry a token request is for: from `service`, else from the Host header. */
  async forTokenRequest(service: string | undefined, host: string | undefined): Promise<RegistryFacts | undefined> {
    const name = service ? this.nameFromHost(service) : this.nameFromHost(host);
    return name ? this.byName(name) : undefined;
  }

  async byName(name: string): Promise<RegistryFacts | undefined> {
    return this.cached(`n:${name.toLowerCase()}`, `${SELECT} AND lower(r.name) = lower($1)`, name);
  }

  async byId(id: string): Promise<RegistryFacts | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return this.cached(`i:${id.toLowerCase()}`, `${SELECT} AND r.id = $1`, id);
  }

  /**
   * `byId` answered from memory only, synchronously (for hot paths that avoid a promise): the facts, or null when
   * the registry is known not to exist; undefined when nothing fresh is cached (then call `byId`).
   */
  peekById(id: string): RegistryFacts | null | undefined {
    const hit = this.cache.get(`i:${id.toLowerCase()}`);
    if (!hit || Date.now() - hit.at >= CACHE_TTL_MS) return undefined;
    return hit.facts ?? null;
  }

  private async cached(key: string, sql: string, arg: string): Promise<RegistryFacts | undefined> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.facts;
    // One query per key at a time: when an entry expires under load, every request in flight waits for it.
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.load(key, sql, arg).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  private async load(key: string, sql: string, arg: string): Promise<RegistryFacts | undefined> {
    const [row] = (await this.ds.query(sql, [arg])) as RegistryRow[];
    const facts = row ? this.toFacts(row) : undefined;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { at: Date.now(), facts });
    return facts;
  }

  private toFacts(row: RegistryRow): RegistryFacts {
    return {
      id: row.id,
      name: row.name,
      canonicalLoginServer: this.canonicalLoginServer(row.name),
      sku: row.sku,
      adminUserEnabled: row.admin_user_enabled,
      anonymousPullEnabled: row.anonymous_pull_enabled,
      subscriptionId: row.subscription_id,
      resourceGroupName: row.resource_group_name,
      tenantId: row.tenant_id,
      armId: registryArmId(row.subscription_id, row.resource_group_name, row.name),
    };
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i > -1 && host.indexOf(':') === i ? host.slice(0, i) : host;
}
