import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import { INDEX_MEDIA_TYPES } from '@berth/oci';
import type { DataSource } from 'typeorm';
import { RepositoryRecords } from '../registry/repository-records.service';
import { manifestUnknown } from '../manifests/manifest-errors.util';
import { assertLastExists, requireRepository } from './acr-lookup.util';
import { parseManifestReference } from '../manifests/manifest-reference.util';
import { keysetClause, type AcrOrderBy, type AttributesPatch } from './acr-params.util';
import { attributeAssignments, changeableAttributes, isoTime, type AttributeColumns, type ChangeableAttributesBody } from './acr-shapes';

/** An index child as ACR lists it (`references`, acr.md §2.4). */
export interface ManifestReferenceBody {
  readonly digest: string;
  readonly architecture?: string;
  readonly os?: string;
}

/** ACR's `ManifestAttributesBase` (acr.md §2.4). */
export interface ManifestAttributesBase {
  readonly digest: string;
  /** The manifest's bytes plus every blob it references (config and layers), once each. */
  readonly imageSize: number;
  readonly createdTime: string;
  readonly lastUpdateTime: string;
  readonly architecture: string | null;
  readonly os: string | null;
  readonly mediaType: string;
  readonly configMediaType?: string;
  readonly tags: string[];
  readonly references?: ManifestReferenceBody[];
  readonly changeableAttributes: ChangeableAttributesBody;
}

export interface ManifestQuery {
  readonly n: number;
  readonly last?: string;
  readonly orderBy: AcrOrderBy;
}

interface ManifestRow extends AttributeColumns {
  digest: string;
  created_at: Date;
  updated_at: Date;
  media_type: string;
  config_media_type: string | null;
  size: string | number;
  blob_bytes: string | number;
  architecture: string | null;
  os: string | null;
  tags: string[];
  index_content: Buffer | null;
}

const MANIFEST_COLUMNS = `rm.digest, rm.created_at, rm.updated_at, rm.delete_enabled, rm.write_enabled, rm.read_enabled,
       rm.list_enabled, rm.quarantine_state, rm.quarantine_details,
       m.media_type, m.config_media_type, m.size, m.architecture, m.os,
       (SELECT coalesce(sum(b.size), 0) FROM manifest_references mr
          JOIN blobs b ON b.registry_id = mr.registry_id AND b.digest = mr.blob_digest
         WHERE mr.registry_id = m.registry_id AND mr.manifest_digest = m.digest) AS blob_bytes,
       ARRAY(SELECT t.name FROM tags t
              WHERE t.repository_id = rm.repository_id AND t.manifest_digest = rm.digest AND t.list_enabled
              ORDER BY t.name) AS tags,
       CASE WHEN m.media_type = ANY($3::text[]) THEN m.content END AS index_content`;

const FROM = `FROM repository_manifests rm JOIN manifests m ON m.registry_id = rm.registry_id AND m.digest = rm.digest`;

/** Manifest details of `/acr/v1/<name>/_manifests` (acr.md §2.2–2.4). Every query is scoped by registry and repository. */
@Injectable()
export class AcrManifests {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
  ) {}

  /**
   * One page of listable manifests (`list_enabled`; none when the repository itself is unlisted) in
   * `orderBy` order after `last` (a digest); `more` when others remain. Under a time order `last` must
   * name a manifest of the repository (400 otherwise).
   */
  async list(registryId: string, name: string, q: ManifestQuery): Promise<{ manifests: ManifestAttributesBase[]; more: boolean }> {
    const repo = await requireRepository(this.repositories, registryId, name);
    if (q.n === 0 || !repo.listEnabled) return { manifests: [], more: false };
    if (q.last !== undefined && q.orderBy !== 'none') await assertLastExists(this.ds, 'manifest', repo.id, q.last);
    const page = keysetClause(
      q.orderBy,
      { key: 'rm.digest', time: 'rm.updated_at' },
      '$4',
      'SELECT updated_at FROM repository_manifests WHERE repository_id = $2 AND digest = $4',
    );
    const rows = (await this.ds.query(
      `SELECT ${MANIFEST_COLUMNS} ${FROM}
        WHERE rm.registry_id = $1 AND rm.repository_id = $2 AND rm.list_enabled AND ${page.where}
        ORDER BY ${page.orderBy} LIMIT $5`,
      [registryId, repo.id, INDEX_MEDIA_TYPES, q.last ?? null, q.n + 1],
    )) as ManifestRow[];
    return { manifests: rows.slice(0, q.n).map(toManifest), more: rows.length > q.n };
  }

  /** One manifest by digest, or by a tag naming it. Unknown: MANIFEST_UNKNOWN; unknown repository: NAME_UNKNOWN. */
  async get(registryId: string, name: string, reference: string): Promise<ManifestAttributesBase> {
    const repo = await requireRepository(this.repositories, registryId, name);
    const ref = parseManifestReference(reference);
    const rows = (await this.ds.query(
      `SELECT ${MANIFEST_COLUMNS} ${FROM}
        WHERE rm.registry_id = $1 AND rm.repository_id = $2
          AND rm.digest = ${ref.kind === 'tag' ? '(SELECT manifest_digest FROM tags WHERE repository_id = $2 AND name = $4)' : '$4'}`,
      [registryId, repo.id, INDEX_MEDIA_TYPES, ref.kind === 'tag' ? ref.tag : ref.digest.value],
    )) as ManifestRow[];
    if (!rows[0]) throw manifestUnknown(reference);
    return toManifest(rows[0]);
  }

  /**
   * Updates the manifest's changeable attributes in this repository (and its quarantine state, acr.md §8.1),
   * then answers the manifest. A tag reference names its manifest, as the SDK resolves tags first anyway.
   */
  async patch(registryId: string, name: string, reference: string, patch: AttributesPatch): Promise<ManifestAttributesBase> {
    const repo = await requireRepository(this.repositories, registryId, name);
    const ref = parseManifestReference(reference);
    const set = attributeAssignments(patch, 4);
    const [, count] = (await this.ds.query(
      `UPDATE repository_manifests rm SET ${set.sql}
        WHERE rm.registry_id = $1 AND rm.repository_id = $2
          AND rm.digest = ${ref.kind === 'tag' ? '(SELECT manifest_digest FROM tags WHERE repository_id = $2 AND name = $3)' : '$3'}`,
      [registryId, repo.id, ref.kind === 'tag' ? ref.tag : ref.digest.value, ...set.params],
    )) as [unknown[], number];
    if (count === 0) throw manifestUnknown(reference);
    return this.get(registryId, name, reference);
  }
}

function toManifest(row: ManifestRow): ManifestAttributesBase {
  const references = row.index_content ? indexReferences(row.index_content) : undefined;
  return {
    digest: row.digest,
    imageSize: Number(row.size) + Number(row.blob_bytes),
    createdTime: isoTime(row.created_at),
    lastUpdateTime: isoTime(row.updated_at),
    architecture: row.architecture,
    os: row.os,
    mediaType: row.media_type,
    ...(row.config_media_type === null ? {} : { configMediaType: row.config_media_type }),
    tags: row.tags,
    ...(references === undefined ? {} : { references }),
    changeableAttributes: changeableAttributes(row),
  };
}

/** The children of a stored index with their platforms (the bytes were validated at push). */
export function indexReferences(content: Buffer): ManifestReferenceBody[] | undefined {
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { manifests?: unknown };
    if (!Array.isArray(parsed.manifests)) return undefined;
    return parsed.manifests.flatMap((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) return [];
      const e = entry as { digest?: unknown; platform?: { architecture?: unknown; os?: unknown } };
      if (typeof e.digest !== 'string') return [];
      const arch = e.platform?.architecture;
      const os = e.platform?.os;
      return [{ digest: e.digest, ...(typeof arch === 'string' ? { architecture: arch } : {}), ...(typeof os === 'string' ? { os } : {}) }];
    });
  } catch {
    return undefined;
  }
}
