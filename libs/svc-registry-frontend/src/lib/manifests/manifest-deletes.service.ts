import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE, retryOnWriteConflict } from '@berth/db';
import { MediaTypes } from '@berth/oci';
import type { DataSource, EntityManager } from 'typeorm';
import type { RegistryRef } from '../registry/registry-ref';
import { RepositoryRecords, type RepositoryRecord } from '../registry/repository-records.service';
import { ManifestConfigReader, chartIdentity } from './manifest-config.service';
import { denied, manifestUnknown, repositoryUnknown } from './manifest-errors.util';
import { parseManifestReference } from './manifest-reference.util';
import { buildRegistryEvent, writeOutbox, type EventRequestInfo, type RegistryEventData } from './registry-events';

/** The registry a delete happens in: its id scopes every query, its home region holds the config blobs. */
export type RegistryScope = Pick<RegistryRef, 'id' | 'location'>;

/** ACR's `DeletedRepository` (acr.md §2.4). */
export interface DeletedRepository {
  readonly manifestsDeleted: string[];
  readonly tagsDeleted: string[];
}

interface DeletedManifestRow {
  digest: string;
  media_type: string;
  size: string | number;
  delete_enabled: boolean;
  write_enabled: boolean;
  is_chart: boolean;
  config_digest: string | null;
  annotations: Record<string, string> | null;
  tags: string[];
}

const MANIFEST_COLUMNS = `rm.digest, m.media_type, m.size, rm.delete_enabled, rm.write_enabled, m.annotations, m.config_digest,
       (m.config_media_type IS NOT DISTINCT FROM '${MediaTypes.HelmConfig}') AS is_chart,
       ARRAY(SELECT t.name FROM tags t WHERE t.repository_id = rm.repository_id AND t.manifest_digest = rm.digest ORDER BY t.name) AS tags`;

/**
 * Deletes of tags, manifests and whole repositories, for `/v2` (distribution-spec "Deleting tags/manifests")
 * and `/acr/v1` (acr.md §2.2, §8.9), each in ONE transaction with its outbox events.
 *
 * Locks (acr.md §8.4): a tag or manifest with `delete_enabled = false` or `write_enabled = false` refuses
 * deletion (DENIED 403), and so does every delete that would take a locked tag or manifest with it; a
 * write-locked repository refuses them all. A repository's own `delete_enabled = false` protects only the
 * repository itself ("prevent deletion of the repository but allow individual images to be deleted").
 *
 * Events (acr.md §5.1): each manifest removed writes `delete` (`chart_delete` for a Helm chart, with ACR's
 * chart payload); removing a tag alone writes none, as ACR.
 */
@Injectable()
export class ManifestDeletes {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
    private readonly configs: ManifestConfigReader,
  ) {}

  /** `/v2` DELETE: by tag removes the tag only; by digest removes the manifest with every tag pointing at it. */
  async deleteReference(
    registry: RegistryScope,
    repository: string,
    reference: string,
    request: EventRequestInfo,
  ): Promise<void> {
    const ref = parseManifestReference(reference);
    if (ref.kind === 'tag') return this.untag(registry, repository, ref.tag);
    return this.deleteManifest(registry, repository, ref.digest.value, request);
  }

  /** Removes one tag (its manifest stays, untagged). Unknown tag or repository: MANIFEST_UNKNOWN. */
  async untag(registry: RegistryScope, repository: string, tag: string): Promise<void> {
    await retryOnWriteConflict(() =>
      this.ds.transaction(async (em) => {
        const repo = await this.writableRepository(em, registry, repository, () => manifestUnknown(tag));
        const rows = (await em.query(
          `SELECT delete_enabled, write_enabled FROM tags WHERE repository_id = $1 AND name = $2 FOR UPDATE`,
          [repo.id, tag],
        )) as Array<{ delete_enabled: boolean; write_enabled: boolean }>;
        const row = rows[0];
        if (!row) throw manifestUnknown(tag);
        if (!row.delete_enabled || !row.write_enabled) throw denied('the tag is locked', { tag });
        await em.query(`DELETE FROM tags WHERE repository_id = $1 AND name = $2`, [repo.id, tag]);
      }),
    );
  }

  /**
   * Removes a manifest from the repository with every tag pointing at it. `reference` is a digest, or (for
   * `/acr/v1`, acr.md §8.9 "delete by tag deletes the manifest and all its tags") a tag naming it. The
   * manifest row itself stays while other repositories link it (garbage collection removes unlinked ones).
   */
  async deleteManifest(
    registry: RegistryScope,
    repository: string,
    reference: string,
    request: EventRequestInfo,
  ): Promise<void> {
    const ref = parseManifestReference(reference);
    await retryOnWriteConflict(() =>
      this.ds.transaction(async (em) => {
        const repo = await this.writableRepository(em, registry, repository, () => manifestUnknown(reference));
        const rows = (await em.query(
          `SELECT ${MANIFEST_COLUMNS}
           FROM repository_manifests rm
           JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest
          WHERE rm.registry_id = $1 AND rm.repository_id = $2
            AND rm.digest = ${ref.kind === 'tag' ? '(SELECT manifest_digest FROM tags WHERE repository_id = $2 AND name = $3)' : '$3'}
            FOR UPDATE OF rm`,
          [registry.id, repo.id, ref.kind === 'tag' ? ref.tag : ref.digest.value],
        )) as DeletedManifestRow[];
        const link = rows[0];
        if (!link) throw manifestUnknown(reference);
        await assertNoLockedContent(em, repo, link.digest);
        await em.query(`DELETE FROM tags WHERE repository_id = $1 AND manifest_digest = $2`, [repo.id, link.digest]);
        await em.query(`DELETE FROM repository_manifests WHERE repository_id = $1 AND digest = $2`, [
          repo.id,
          link.digest,
        ]);
        await this.writeDeleteEvent(em, registry, repo.name, link, request);
      }),
    );
  }

  /**
   * `DELETE /acr/v1/<name>` (acr.md §8.9): the repository with all its tags, manifest links and blob links
   * (cascades), one `delete`/`chart_delete` event per manifest, all in one transaction. Refused (DENIED) when
   * the repository is delete- or write-locked or holds any locked tag or manifest; nothing is removed then.
   */
  async deleteRepository(registry: RegistryScope, name: string, request: EventRequestInfo): Promise<DeletedRepository> {
    // A push racing the deletion can deadlock with it (the push holds key-share locks on the repository row through
    // its foreign keys): the loser runs again.
    return retryOnWriteConflict(() =>
      this.ds.transaction(async (em) => {
        const rows = (await em.query(
          `SELECT id, delete_enabled, write_enabled FROM repositories WHERE registry_id = $1 AND name = $2 FOR UPDATE`,
          [registry.id, name],
        )) as Array<{ id: string; delete_enabled: boolean; write_enabled: boolean }>;
        const repo = rows[0];
        if (!repo) throw repositoryUnknown(name);
        if (!repo.delete_enabled || !repo.write_enabled) throw denied('the repository is locked', { repository: name });
        await assertNoLockedContent(em, { id: repo.id, name }, undefined);
        const manifests = (await em.query(
          `SELECT ${MANIFEST_COLUMNS}
           FROM repository_manifests rm
           JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest
          WHERE rm.registry_id = $1 AND rm.repository_id = $2
          ORDER BY rm.digest`,
          [registry.id, repo.id],
        )) as DeletedManifestRow[];
        await em.query(`DELETE FROM repositories WHERE registry_id = $1 AND id = $2`, [registry.id, repo.id]);
        for (const m of manifests) await this.writeDeleteEvent(em, registry, name, m, request);
        return {
          manifestsDeleted: manifests.map((m) => m.digest),
          tagsDeleted: manifests.flatMap((m) => m.tags).sort(),
        };
      }),
    );
  }

  private async writableRepository(
    em: EntityManager,
    registry: RegistryScope,
    name: string,
    unknown: () => Error,
  ): Promise<RepositoryRecord> {
    const repo = await this.repositories.find(registry.id, name, em);
    if (!repo) throw unknown();
    if (!repo.writeEnabled) throw denied('the repository is write-locked', { repository: repo.name });
    return repo;
  }

  private async writeDeleteEvent(
    em: EntityManager,
    registry: RegistryScope,
    repository: string,
    m: DeletedManifestRow,
    request: EventRequestInfo,
  ): Promise<void> {
    const common = { mediaType: m.media_type, digest: m.digest, repository };
    let target: RegistryEventData['target'] = common;
    if (m.is_chart) {
      const tag = m.tags[0];
      const config = m.config_digest
        ? await this.configs.read(registry.id, registry.location, {
            mediaType: MediaTypes.HelmConfig,
            digest: m.config_digest,
            size: 0,
          })
        : undefined;
      target = {
        ...common,
        size: Number(m.size),
        ...(tag === undefined ? {} : { tag }),
        ...chartIdentity(m.annotations, config, repository, tag),
      };
    }
    await writeOutbox(
      em,
      buildRegistryEvent({ registryId: registry.id, action: m.is_chart ? 'chart_delete' : 'delete', target, request }),
    );
  }
}

/**
 * DENIED when the manifest `digest` (or, without a digest, any manifest of the repository) or a tag that
 * would go with it is locked. The rows found stay locked until commit.
 */
async function assertNoLockedContent(
  em: EntityManager,
  repo: Pick<RepositoryRecord, 'id' | 'name'>,
  digest: string | undefined,
): Promise<void> {
  const manifest = (await em.query(
    `SELECT digest FROM repository_manifests
      WHERE repository_id = $1 AND ($2::text IS NULL OR digest = $2) AND NOT (delete_enabled AND write_enabled)
      ORDER BY digest LIMIT 1 FOR UPDATE`,
    [repo.id, digest ?? null],
  )) as Array<{ digest: string }>;
  if (manifest[0]) throw denied('the manifest is locked', { repository: repo.name, digest: manifest[0].digest });
  const tag = (await em.query(
    `SELECT name, manifest_digest FROM tags
      WHERE repository_id = $1 AND ($2::text IS NULL OR manifest_digest = $2) AND NOT (delete_enabled AND write_enabled)
      ORDER BY name LIMIT 1 FOR UPDATE`,
    [repo.id, digest ?? null],
  )) as Array<{ name: string; manifest_digest: string }>;
  if (tag[0])
    throw denied('a tag of the manifest is locked', {
      repository: repo.name,
      digest: tag[0].manifest_digest,
      tag: tag[0].name,
    });
}
