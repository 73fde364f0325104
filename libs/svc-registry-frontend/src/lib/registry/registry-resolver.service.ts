import { Inject, Injectable } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { RegistryError } from '@berth/oci';
import { BERTH_CONFIG } from '@berth/platform';
import { isIP } from 'node:net';
import type { DataSource } from 'typeorm';
import type { RegistryRef } from './registry-ref';

/** How long a resolved registry is reused; registry changes (delete, SKU) take effect within this. */
const CACHE_TTL_MS = 5000;
const MAX_CACHED = 10000;

interface RegistryRow {
  id: string;
  name: string;
  login_server: string;
  sku: RegistryRef['sku'];
  location: string;
  anonymous_pull_enabled: boolean;
}

/**
 * Resolves the registry a request is for from its Host header (DESIGN: `<registry>.<suffix>`, regional
 * `<registry>.<region>.geo.<suffix>`, and the default registry on the bare host: localhost, an IP, or
 * the suffix itself). An unknown registry is NAME_UNKNOWN, the same answer as an unknown repository, so
 * a caller learns nothing about other tenants.
 */
@Injectable()
export class RegistryResolver {
  private readonly cache = new Map<string, { at: number; ref: RegistryRef }>();
  /** The same, by the exact Host header value (many spellings may name one registry; each is cached on its own). */
  private readonly byHost = new Map<string, { at: number; ref: RegistryRef }>();
  private readonly loading = new Map<string, Promise<{ at: number; ref: RegistryRef }>>();
  private readonly suffix: string;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
  ) {
    this.suffix = config.loginSuffix.toLowerCase();
  }

  /** The registry name and endpoint region a Host header addresses (pure; exposed for tests). */
  parseHost(hostHeader: string | undefined): { name: string; region?: string } {
    const host = stripPort((hostHeader ?? '').trim().toLowerCase());
    if (!host || host === 'localhost' || isIP(host) || host === this.suffix) {
      return { name: this.config.bootstrap.defaultRegistry };
    }
    if (host.endsWith(`.${this.suffix}`)) {
      const labels = host.slice(0, -(this.suffix.length + 1)).split('.');
      if (labels.length === 1 && labels[0]) return { name: labels[0] };
      if (labels.length === 3 && labels[2] === 'geo' && labels[0] && labels[1]) return { name: labels[0], region: labels[1] };
    }
    throw unknownRegistry();
  }

  /**
   * The registry of a Host header when it was resolved within the cache's lifetime, synchronously (the hot path's
   * way: no promise); undefined otherwise (then `resolve`).
   */
  peek(hostHeader: string | undefined): RegistryRef | undefined {
    const hit = this.byHost.get(hostHeader ?? '');
    return hit && Date.now() - hit.at < CACHE_TTL_MS ? hit.ref : undefined;
  }

  async resolve(hostHeader: string | undefined): Promise<RegistryRef> {
    const known = this.peek(hostHeader);
    if (known) return known;
    const entry = await this.resolveByName(hostHeader);
    if (this.byHost.size >= MAX_CACHED) this.byHost.clear();
    // Same age as the entry by name: a registry change still takes effect within CACHE_TTL_MS.
    this.byHost.set(hostHeader ?? '', entry);
    return entry.ref;
  }

  private async resolveByName(hostHeader: string | undefined): Promise<{ at: number; ref: RegistryRef }> {
    const { name, region } = this.parseHost(hostHeader);
    const key = `${name}|${region ?? ''}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit;
    // One query per registry at a time: when the entry expires under load, every request in flight waits for it.
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.load(key, name, region).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  private async load(key: string, name: string, region: string | undefined): Promise<{ at: number; ref: RegistryRef }> {
    const rows = (await this.ds.query(
      `SELECT id, name, login_server, sku, location, anonymous_pull_enabled
         FROM registries WHERE lower(name) = $1 AND provisioning_state = 'Succeeded'`,
      [name],
    )) as RegistryRow[];
    const row = rows[0];
    if (!row) throw unknownRegistry();
    if (region && region !== row.location) {
      const rep = (await this.ds.query(`SELECT 1 FROM replications WHERE registry_id = $1 AND location = $2`, [row.id, region])) as unknown[];
      if (rep.length === 0) throw unknownRegistry();
    }
    const ref: RegistryRef = {
      id: row.id,
      name: row.name,
      loginServer: row.login_server,
      sku: row.sku,
      location: row.location,
      region: region ?? row.location,
      anonymousPullEnabled: row.anonymous_pull_enabled,
    };
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    const entry = { at: Date.now(), ref };
    this.cache.set(key, entry);
    return entry;
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i > -1 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

function unknownRegistry(): RegistryError {
  return new RegistryError('NAME_UNKNOWN', 'registry unknown');
}
