import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import { ROOT_LOGGER } from '@berth/platform';
import { BLOB_STORES, type BlobStores } from '@berth/storage';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/**
 * Removes a registry and all its data: its blobs and uploads in every region's storage, then its rows (the schema
 * cascades to repositories, manifests, tags, webhooks, tokens, scope maps, replications, credentials...). Storage is
 * cleared again after the rows are gone, for an upload that was committing while the delete began. Registries left
 * `Deleting` by a crash are finished at the next start.
 */
@Injectable()
export class RegistryDeletion implements OnApplicationBootstrap {
  private readonly logger: Logger;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BLOB_STORES) private readonly stores: BlobStores,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'registry-deletion' });
  }

  async purge(registryId: string): Promise<void> {
    await this.clearStorage(registryId);
    await this.ds.query(`DELETE FROM registries WHERE id = $1 AND provisioning_state = 'Deleting'`, [registryId]);
    await this.clearStorage(registryId);
    this.logger.info({ registryId }, 'registry deleted');
  }

  onApplicationBootstrap(): void {
    void this.resume().catch((err: unknown) => this.logger.warn({ err }, 'resuming registry deletions failed'));
  }

  private async resume(): Promise<void> {
    const rows = (await this.ds.query(
      `SELECT id FROM registries WHERE provisioning_state = 'Deleting' AND updated_at < now() - interval '5 minutes'`,
    )) as Array<{ id: string }>;
    for (const r of rows) await this.purge(r.id);
  }

  private async clearStorage(registryId: string): Promise<void> {
    await Promise.all(this.stores.regions.map((region) => this.stores.get(region).deleteRegistry(registryId)));
  }
}
