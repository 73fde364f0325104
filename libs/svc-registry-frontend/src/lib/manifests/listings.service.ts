import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import { MAX_PAGE_SIZE, MediaTypes, parseDigest, referrerDescriptor, type ReferrerDescriptor } from '@berth/oci';
import type { DataSource } from 'typeorm';
import { RepositoryRecords } from '../registry/repository-records.service';
import { repositoryUnknown } from './manifest-errors.util';

/** A page of names, and whether more follow (then the caller sends a `Link` header). */
export interface NamePage {
  readonly items: readonly string[];
  readonly more: boolean;
}

/** Catalog page size when the client sends no `n` (the client follows `Link` for the rest). */
export const DEFAULT_CATALOG_PAGE = 1000;

interface ReferrerRow {
  digest: string;
  media_type: string;
  size: string | number;
  artifact_type: string | null;
  config_digest: string | null;
  config_media_type: string | null;
  annotations: Record<string, string> | null;
}

/**
 * Read-only listings: tags of a repository, repositories of a registry, referrers of a digest. Names are
 * collated "C" in the schema, so `ORDER BY name` is byte order and `name > $last` paginates exactly.
 */
@Injectable()
export class ListingsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
  ) {}

  /**
   * Tags in lexical order after `last`, at most `n` (default and maximum MAX_PAGE_SIZE, with `more` when
   * others remain). Tags with `list_enabled = false` are hidden (ACR), and so is every tag of a repository
   * with `list_enabled = false` (a repository's attributes apply to everything in it). An unknown repository
   * is NAME_UNKNOWN.
   */
  async tags(registryId: string, repository: string, n: number | undefined, last: string | undefined): Promise<NamePage> {
    const repo = await this.repositories.find(registryId, repository);
    if (!repo) throw repositoryUnknown(repository);
    const limit = n ?? MAX_PAGE_SIZE;
    if (limit === 0 || !repo.listEnabled) return { items: [], more: false };
    const rows = (await this.ds.query(
      `SELECT name FROM tags
        WHERE registry_id = $1 AND repository_id = $2 AND list_enabled AND ($3::text IS NULL OR name > $3)
        ORDER BY name LIMIT $4`,
      [registryId, repo.id, last ?? null, limit + 1],
    )) as Array<{ name: string }>;
    return page(rows.map((r) => r.name), limit);
  }

  /** Repositories of this registry only, lexical, after `last`; `list_enabled = false` ones are hidden. */
  async catalog(registryId: string, n: number | undefined, last: string | undefined): Promise<NamePage> {
    const limit = n ?? DEFAULT_CATALOG_PAGE;
    if (limit === 0) return { items: [], more: false };
    const rows = (await this.ds.query(
      `SELECT name FROM repositories
        WHERE registry_id = $1 AND list_enabled AND ($2::text IS NULL OR name > $2)
        ORDER BY name LIMIT $3`,
      [registryId, last ?? null, limit + 1],
    )) as Array<{ name: string }>;
    return page(rows.map((r) => r.name), limit);
  }

  /**
   * distribution-spec "Listing Referrers": descriptors of the manifests in this repository whose `subject`
   * is `digest`, optionally only those of one artifactType. An invalid digest is DIGEST_INVALID (400); an
   * unknown repository or subject gives an empty list (never 404). Ordered by digest so the answer is stable.
   * Built from the columns stored at push (no re-parse of the content), with the shared `referrerDescriptor`
   * rule: artifactType, else the config media type of an image manifest.
   */
  async referrers(registryId: string, repository: string, digest: string, artifactType: string | undefined): Promise<ReferrerDescriptor[]> {
    const subject = parseDigest(digest).value;
    const repo = await this.repositories.find(registryId, repository);
    if (!repo) return [];
    const rows = (await this.ds.query(
      `SELECT m.digest, m.media_type, m.size, m.artifact_type, m.config_digest, m.config_media_type, m.annotations
         FROM manifests m
         JOIN repository_manifests rm ON rm.registry_id = m.registry_id AND rm.digest = m.digest
        WHERE m.registry_id = $1 AND m.subject_digest = $2 AND rm.repository_id = $3
        ORDER BY m.digest`,
      [registryId, subject, repo.id],
    )) as ReferrerRow[];
    const all = rows.map(toDescriptor);
    return artifactType === undefined ? all : all.filter((d) => d.artifactType === artifactType);
  }
}

function page(names: string[], limit: number): NamePage {
  return names.length > limit ? { items: names.slice(0, limit), more: true } : { items: names, more: false };
}

function toDescriptor(row: ReferrerRow): ReferrerDescriptor {
  const common = {
    mediaType: row.media_type as typeof MediaTypes.OciManifest,
    digest: row.digest,
    size: Number(row.size),
    schemaVersion: 2 as const,
    ...(row.artifact_type === null ? {} : { artifactType: row.artifact_type }),
    ...(row.annotations === null ? {} : { annotations: row.annotations }),
  };
  // Only the members referrerDescriptor reads are needed; an index has no config.
  return row.config_media_type === null
    ? referrerDescriptor({ ...common, kind: 'index', manifests: [] })
    : referrerDescriptor({
        ...common,
        kind: 'image',
        config: { mediaType: row.config_media_type, digest: row.config_digest ?? '', size: 0 },
        layers: [],
      });
}
