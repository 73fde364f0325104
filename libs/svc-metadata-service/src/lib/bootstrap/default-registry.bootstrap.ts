import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG, ROOT_LOGGER, ensureBootstrapTenancy, stableGuid } from '@berth/platform';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { insertSystemScopeMaps } from '../management/registries/system-scope-maps';

/**
 * The operator contract's installation bootstrap, on every start and idempotent: the bootstrap tenant,
 * subscription and resource group `berth`, and the default registry (BERTH_DEFAULT_REGISTRY, Premium) that
 * the bare host serves, with ACR's system scope maps (its admin passwords are made when the admin user is
 * enabled). An existing registry's settings are never changed (an operator may have resized it).
 */
@Injectable()
export class DefaultRegistryBootstrap implements OnApplicationBootstrap {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { subscriptionId, resourceGroupId } = await ensureBootstrapTenancy(this.ds, this.config);
    const name = this.config.bootstrap.defaultRegistry;
    const id = stableGuid('berth-registry', `${subscriptionId}/${name}`);
    const inserted = (await this.ds.query(
      `INSERT INTO registries (id, subscription_id, resource_group_id, name, login_server, location, sku)
       VALUES ($1, $2, $3, $4, $5, $6, 'Premium')
       ON CONFLICT DO NOTHING RETURNING id`,
      [id, subscriptionId, resourceGroupId, name, `${name}.${this.config.loginSuffix}`, this.config.regions[0]],
    )) as unknown[];
    // ACR's system scope maps (idempotent, also for a default registry made before they existed).
    const [row] = (await this.ds.query(`SELECT id FROM registries WHERE lower(name) = lower($1)`, [name])) as Array<{
      id: string;
    }>;
    if (row) await insertSystemScopeMaps(this.ds, row.id);
    this.logger.info(
      { component: 'bootstrap', registry: name, created: inserted.length > 0 },
      inserted.length > 0 ? 'default registry created' : 'default registry present',
    );
  }
}
