import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { BerthConfig } from '@berth/config';
import { DATA_SOURCE } from '@berth/db';
import { BERTH_CONFIG, ROOT_LOGGER, ensureBootstrapTenancy, stableGuid } from '@berth/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { hashSecret, verifySecret } from '@berth/auth';

/** Azure's built-in Owner role definition id (the same GUID in every tenant). */
export const OWNER_ROLE_DEFINITION_ID = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';

export interface BootstrapCredentials {
  tenant: string;
  subscription: string;
  clientId: string;
  clientSecret: string;
}

/**
 * The operator service principal of the operator contract: BERTH_BOOTSTRAP_CLIENT_ID/SECRET when set,
 * otherwise generated once and written to `<data>/bootstrap.json` (mode 0600), then reused on every start.
 * It is Owner of the bootstrap subscription. Configured credentials replace the stored secret hash when
 * the secret changed, so rotating the setting rotates the secret.
 */
@Injectable()
export class BootstrapPrincipal implements OnApplicationBootstrap {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(BERTH_CONFIG) private readonly config: BerthConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { tenantId, subscriptionId } = await ensureBootstrapTenancy(this.ds, this.config);
    const creds = await this.credentials();
    const principalId = stableGuid('berth-principal', creds.clientId);
    const [existing] = (await this.ds.query(`SELECT password_hash FROM principals WHERE client_id = $1`, [
      creds.clientId,
    ])) as Array<{ password_hash: string | null }>;
    if (!existing) {
      await this.ds.query(
        `INSERT INTO principals (id, tenant_id, kind, display_name, client_id, password_hash)
         VALUES ($1, $2, 'ServicePrincipal', 'Berth operator', $3, $4) ON CONFLICT DO NOTHING`,
        [principalId, tenantId, creds.clientId, await hashSecret(creds.clientSecret)],
      );
    } else if (!existing.password_hash || !(await verifySecret(creds.clientSecret, existing.password_hash))) {
      await this.ds.query(`UPDATE principals SET password_hash = $2, updated_at = now() WHERE client_id = $1`, [
        creds.clientId,
        await hashSecret(creds.clientSecret),
      ]);
      this.logger.info({ component: 'bootstrap' }, 'bootstrap principal secret rotated from configuration');
    }
    const [principal] = (await this.ds.query(`SELECT id FROM principals WHERE client_id = $1`, [creds.clientId])) as Array<{
      id: string;
    }>;
    await this.ds.query(
      `INSERT INTO role_assignments (principal_id, role_definition_id, scope, subscription_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [principal?.id ?? principalId, OWNER_ROLE_DEFINITION_ID, `/subscriptions/${subscriptionId}`, subscriptionId],
    );
    this.logger.info({ component: 'bootstrap', clientId: creds.clientId }, 'bootstrap principal ready');
  }

  private async credentials(): Promise<BootstrapCredentials> {
    const { bootstrap, dataDir } = this.config;
    const base = { tenant: bootstrap.tenant, subscription: bootstrap.subscription };
    if (bootstrap.clientId && bootstrap.clientSecret) {
      return { ...base, clientId: bootstrap.clientId.toLowerCase(), clientSecret: bootstrap.clientSecret };
    }
    const file = path.join(dataDir, 'bootstrap.json');
    try {
      const stored = JSON.parse(await readFile(file, 'utf8')) as Partial<BootstrapCredentials>;
      if (stored.clientId && stored.clientSecret) return { ...base, clientId: stored.clientId, clientSecret: stored.clientSecret };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is unreadable or not JSON; fix or remove it`);
    }
    const created = { ...base, clientId: randomUUID(), clientSecret: randomBytes(32).toString('base64url') };
    await mkdir(dataDir, { recursive: true, mode: 0o711 });
    // Write then rename, so a crash never leaves a half-written file the next start would refuse.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
    this.logger.info({ component: 'bootstrap', file }, 'bootstrap credentials generated');
    return created;
  }
}
