import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import { assertTag, parseDigest } from '@berth/oci';
import type { DataSource } from 'typeorm';
import { RepositoryRecords } from '../registry/repository-records.service';
import { manifestUnknown } from '../manifests/manifest-errors.util';
import { assertLastExists, requireRepository } from './acr-lookup.util';
import { keysetClause, type AcrOrderBy, type AttributesPatch } from './acr-params.util';
import { attributeAssignments, changeableAttributes, isoTime, type AttributeColumns, type ChangeableAttributesBody } from './acr-shapes';

/** ACR's `TagAttributesBase` (acr.md §2.4). */
export interface TagAttributesBase {
  readonly name: string;
  readonly digest: string;
  readonly createdTime: string;
  readonly lastUpdateTime: string;
  /** Docker Content Trust is not offered (deprecated in ACR): always false. */
  readonly signed: boolean;
  readonly changeableAttributes: ChangeableAttributesBody;
}

export interface TagQuery {
  readonly n: number;
  readonly last?: string;
  readonly orderBy: AcrOrderBy;
  readonly digest?: string;
}

interface TagRow extends AttributeColumns {
  name: string;
  manifest_digest: string;
  created_at: Date;
  updated_at: Date;
}

const TAG_COLUMNS = 't.name, t.manifest_digest, t.created_at, t.updated_at, t.delete_enabled, t.write_enabled, t.read_enabled, t.list_enabled';

/** Tag details of `/acr/v1/<name>/_tags` (acr.md §2.2–2.4). Every query is scoped by registry and repository. */
@Injectable()
export class AcrTags {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly repositories: RepositoryRecords,
  ) {}

  /**
   * One page of listable tags (`list_enabled`; none when the repository itself is unlisted), optionally
   * only those pointing at `digest`, in `orderBy` order after `last`; `more` when others remain. Under a
   * time order `last` must name a tag of the repository (400 otherwise: the position cannot be found).
   */
  async list(registryId: string, name: string, q: TagQuery): Promise<{ tags: TagAttributesBase[]; more: boolean }> {
    const repo = await requireRepository(this.repositories, registryId, name);
    const digest = q.digest === undefined || q.digest === '' ? null : parseDigest(q.digest).value;
    if (q.n === 0 || !repo.listEnabled) return { tags: [], more: false };
    if (q.last !== undefined && q.orderBy !== 'none') await assertLastExists(this.ds, 'tag', repo.id, q.last);
    const page = keysetClause(q.orderBy, { key: 't.name', time: 't.updated_at' }, '$4', 'SELECT updated_at FROM tags WHERE repository_id = $2 AND name = $4');
    const rows = (await this.ds.query(
      `SELECT ${TAG_COLUMNS} FROM tags t
        WHERE t.registry_id = $1 AND t.repository_id = $2 AND t.list_enabled
          AND ($3::text IS NULL OR t.manifest_digest = $3) AND ${page.where}
        ORDER BY ${page.orderBy} LIMIT $5`,
      [registryId, repo.id, digest, q.last ?? null, q.n + 1],
    )) as TagRow[];
    return { tags: rows.slice(0, q.n).map(toTag), more: rows.length > q.n };
  }

  /** One tag, listable or not. Unknown tag: MANIFEST_UNKNOWN (the OCI code for an unknown tag); unknown repository: NAME_UNKNOWN. */
  async get(registryId: string, name: string, tag: string): Promise<TagAttributesBase> {
    const repo = await requireRepository(this.repositories, registryId, name);
    const rows = (await this.ds.query(`SELECT ${TAG_COLUMNS} FROM tags t WHERE t.registry_id = $1 AND t.repository_id = $2 AND t.name = $3`, [
      registryId,
      repo.id,
      assertTag(tag),
    ])) as TagRow[];
    if (!rows[0]) throw manifestUnknown(tag);
    return toTag(rows[0]);
  }

  /** Updates the tag's changeable attributes (the tag's only; its manifest keeps its own) and answers the tag. */
  async patch(registryId: string, name: string, tag: string, patch: AttributesPatch): Promise<TagAttributesBase> {
    const repo = await requireRepository(this.repositories, registryId, name);
    const set = attributeAssignments(patch, 4);
    const rows = (await this.ds.query(
      `UPDATE tags t SET ${set.sql} WHERE t.registry_id = $1 AND t.repository_id = $2 AND t.name = $3 RETURNING ${TAG_COLUMNS}`,
      [registryId, repo.id, assertTag(tag), ...set.params],
    )) as [TagRow[], number];
    const row = rows[0][0];
    if (!row) throw manifestUnknown(tag);
    return toTag(row);
  }
}

function toTag(row: TagRow): TagAttributesBase {
  return {
    name: row.name,
    digest: row.manifest_digest,
    createdTime: isoTime(row.created_at),
    lastUpdateTime: isoTime(row.updated_at),
    signed: false,
    changeableAttributes: changeableAttributes(row),
  };
}
