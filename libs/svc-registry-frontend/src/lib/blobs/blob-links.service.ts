import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../registry/prepared-query.util';
import { RepositoryRecords } from '../registry/repository-records.service';


/** How many repositories holding a digest an automatic mount considers when the caller may pull only some. */
const MOUNT_CANDIDATES = 200;
/** A blob as a repository sees it: only blobs linked to the repository exist for it. */
export interface LinkedBlob {
  readonly digest: string;
  readonly size: number;
  /** The region whose store serves the read: the endpoint region when the blob is there, else the home region. */
  readonly region: string;
}

/**
 * The blob metadata of a registry: `blobs` (one row per stored content), `blob_regions` (which regions' stores
 * hold it) and `repository_blobs` (which repositories may read it). DESIGN "Storage layout": a repository may
 * only read blobs linked to it, never by digest alone; a cross-repository mount is a link row, not a copy.
 * Every query is scoped by registry id.
 */
@Injectable()
export class BlobLinks {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
  ) {}

  /**
   * The blob `digest` if it is linked to repository `name` of the registry, else undefined (also when the
   * repository does not exist). `readRegion` is the region the request came through; `homeRegion` the
   * registry's home, where every push lands.
   */
  async findLinked(
    registryId: string,
    name: string,
    digest: string,
    readRegion: string,
    homeRegion: string,
  ): Promise<LinkedBlob | undefined> {
    const rows = await preparedQuery<{ size: string; in_region: boolean }>(
      this.ds,
      'berth-blob-linked',
      `SELECT b.size::text AS size,
              EXISTS (SELECT 1 FROM blob_regions br
                       WHERE br.registry_id = b.registry_id AND br.digest = b.digest AND br.region = $4) AS in_region
         FROM repositories r
         JOIN repository_blobs rb ON rb.registry_id = r.registry_id AND rb.repository_id = r.id
         JOIN blobs b ON b.registry_id = rb.registry_id AND b.digest = rb.digest
        WHERE r.registry_id = $1 AND r.name = $2 AND rb.digest = $3`,
      [registryId, name, digest, readRegion],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { digest, size: Number(row.size), region: row.in_region ? readRegion : homeRegion };
  }

  /**
   * Records a blob that storage has just verified and stored in `region`, and links it to repository `name`
   * (created when missing), in ONE transaction; `then` runs inside it (e.g. deleting the upload session).
   * Idempotent: an existing blob, region or link is kept as it is.
   */
  async recordAndLink(
    registryId: string,
    name: string,
    blob: { digest: string; size: number },
    region: string,
    then?: (em: EntityManager) => Promise<void>,
  ): Promise<void> {
    await this.ds.transaction(async (em) => {
      const repo = await this.repositories.findOrCreate(registryId, name, em);
      // One statement for the blob, its region and the link (the foreign keys are checked at its end).
      await em.query(
        `WITH blob AS (
           INSERT INTO blobs (registry_id, digest, size) VALUES ($1, $2, $3) ON CONFLICT (registry_id, digest) DO NOTHING
         ), region AS (
           INSERT INTO blob_regions (registry_id, digest, region) VALUES ($1, $2, $4)
           ON CONFLICT (registry_id, digest, region) DO NOTHING
         )
         INSERT INTO repository_blobs (repository_id, digest, registry_id) VALUES ($5, $2, $1)
         ON CONFLICT (repository_id, digest) DO NOTHING`,
        [registryId, blob.digest, blob.size, region, repo.id],
      );
      if (then) await then(em);
    });
  }

  /**
   * {@link recordAndLink} in ONE statement (no transaction round trips) when repository `name` exists (every push
   * after its first), also deleting the upload session `sessionId` if given. Resolves false, changing nothing,
   * when the repository does not exist: the caller then uses `recordAndLink`, which creates it.
   */
  async recordAndLinkExisting(
    registryId: string,
    name: string,
    blob: { digest: string; size: number },
    region: string,
    sessionId?: string,
  ): Promise<boolean> {
    const linked = await preparedQuery<{ ok: number }>(
      this.ds,
      'berth-blob-record-link-close',
      // Every insert and the delete happen only when the repository exists; the foreign keys are checked at the
      // statement's end.
      `WITH repo AS (
         SELECT id FROM repositories WHERE registry_id = $1::uuid AND name = $5::text
       ), blob AS (
         INSERT INTO blobs (registry_id, digest, size) SELECT $1::uuid, $2::text, $3::bigint FROM repo
         ON CONFLICT (registry_id, digest) DO NOTHING
       ), region AS (
         INSERT INTO blob_regions (registry_id, digest, region) SELECT $1::uuid, $2::text, $4::text FROM repo
         ON CONFLICT (registry_id, digest, region) DO NOTHING
       ), link AS (
         INSERT INTO repository_blobs (repository_id, digest, registry_id) SELECT repo.id, $2::text, $1::uuid FROM repo
         ON CONFLICT (repository_id, digest) DO NOTHING
       ), closed AS (
         DELETE FROM upload_sessions WHERE id = $6::uuid AND registry_id = $1 AND EXISTS (SELECT 1 FROM repo)
       )
       SELECT 1 AS ok FROM repo`,
      [registryId, blob.digest, blob.size, region, name, sessionId ?? null],
    );
    return linked.length > 0;
  }

  /**
   * Cross-repository mount: links `digest` to repository `name` when the blob is linked to repository `from`
   * of the same registry, or, with `from` undefined ("automatic content discovery", distribution-spec), to any
   * repository of the registry. Resolves true when linked (also when it already was), false when the source
   * has no such blob; then nothing changes (the repository is not even created). Without `from`, only a
   * repository the caller may pull qualifies (`mayPull`; the caller checks `from` itself).
   */
  async mount(
    registryId: string,
    name: string,
    digest: string,
    from: string | undefined,
    mayPull: 'all' | ((repository: string) => boolean) = 'all',
  ): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const source = (await em.query(
        from === undefined
          ? `SELECT r.name FROM repository_blobs rb
               JOIN blobs b ON b.registry_id = rb.registry_id AND b.digest = rb.digest
               JOIN repositories r ON r.registry_id = rb.registry_id AND r.id = rb.repository_id
              WHERE rb.registry_id = $1 AND rb.digest = $2 LIMIT ${mayPull === 'all' ? 1 : MOUNT_CANDIDATES}`
          : `SELECT 1 FROM repositories r
               JOIN repository_blobs rb ON rb.registry_id = r.registry_id AND rb.repository_id = r.id
               JOIN blobs b ON b.registry_id = rb.registry_id AND b.digest = rb.digest
              WHERE r.registry_id = $1 AND rb.digest = $2 AND r.name = $3
              -- the link row must still exist at commit: lock it against a concurrent unlink
              FOR SHARE OF rb`,
        from === undefined ? [registryId, digest] : [registryId, digest, from],
      )) as unknown[];
      if (source.length === 0) return false;
      if (from === undefined && mayPull !== 'all' && !(source as Array<{ name: string }>).some((s) => mayPull(s.name))) return false;
      const repo = await this.repositories.findOrCreate(registryId, name, em);
      await this.insertLink(em, registryId, repo.id, digest);
      return true;
    });
  }

  /** Removes the link of `digest` to repository `name`. Resolves false when there was none. The bytes stay. */
  async unlink(registryId: string, name: string, digest: string): Promise<boolean> {
    const rows = (await this.ds.query(
      `DELETE FROM repository_blobs rb USING repositories r
        WHERE rb.registry_id = $1 AND r.registry_id = rb.registry_id AND r.id = rb.repository_id
          AND r.name = $2 AND rb.digest = $3
        RETURNING 1`,
      [registryId, name, digest],
    )) as [unknown[], number];
    return rows[1] > 0;
  }

  private async insertLink(em: EntityManager, registryId: string, repositoryId: string, digest: string): Promise<void> {
    await em.query(
      `INSERT INTO repository_blobs (repository_id, digest, registry_id) VALUES ($1, $2, $3)
       ON CONFLICT (repository_id, digest) DO NOTHING`,
      [repositoryId, digest, registryId],
    );
  }
}
