import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import type { DataSource } from 'typeorm';
import { repositoryUnknown } from '../manifests/manifest-errors.util';
import type { AttributesPatch } from './acr-params.util';
import { attributeAssignments, changeableAttributes, isoTime, type AttributeColumns, type ChangeableAttributesBody } from './acr-shapes';

/** ACR's `RepositoryAttributes` without `registry` (the handler adds the login server). */
export interface RepositoryAttributesBase {
  readonly imageName: string;
  readonly createdTime: string;
  readonly lastUpdateTime: string;
  readonly manifestCount: number;
  readonly tagCount: number;
  readonly changeableAttributes: ChangeableAttributesBody;
}

interface RepositoryRow extends AttributeColumns {
  name: string;
  created_at: Date;
  last_update: Date;
  manifest_count: string | number;
  tag_count: string | number;
}

/**
 * `lastUpdateTime` is the latest of the repository's own change and any push, tag move or attribute change
 * inside it (pushes do not write the repository row, so concurrent pushes never contend on it).
 */
const SELECT_ATTRIBUTES = `SELECT r.name, r.created_at, r.delete_enabled, r.write_enabled, r.read_enabled, r.list_enabled,
       GREATEST(r.updated_at,
                (SELECT max(updated_at) FROM repository_manifests WHERE repository_id = r.id),
                (SELECT max(updated_at) FROM tags WHERE repository_id = r.id)) AS last_update,
       (SELECT count(*) FROM repository_manifests WHERE repository_id = r.id) AS manifest_count,
       (SELECT count(*) FROM tags WHERE repository_id = r.id) AS tag_count
  FROM repositories r WHERE r.registry_id = $1 AND r.name = $2`;

/** Repository attributes of `/acr/v1/<name>` (acr.md §2.2–2.4), scoped by registry. */
@Injectable()
export class AcrRepositories {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /** The repository's attributes (listable or not); unknown: NAME_UNKNOWN. */
  async get(registryId: string, name: string): Promise<RepositoryAttributesBase> {
    const rows = (await this.ds.query(SELECT_ATTRIBUTES, [registryId, name])) as RepositoryRow[];
    if (!rows[0]) throw repositoryUnknown(name);
    return toRepository(rows[0]);
  }

  /** Updates the repository's changeable attributes (they apply to everything in it, acr.md §8.4). */
  async patch(registryId: string, name: string, patch: AttributesPatch): Promise<RepositoryAttributesBase> {
    const set = attributeAssignments(patch, 3);
    const [, count] = (await this.ds.query(`UPDATE repositories SET ${set.sql} WHERE registry_id = $1 AND name = $2`, [
      registryId,
      name,
      ...set.params,
    ])) as [unknown[], number];
    if (count === 0) throw repositoryUnknown(name);
    return this.get(registryId, name);
  }
}

function toRepository(row: RepositoryRow): RepositoryAttributesBase {
  return {
    imageName: row.name,
    createdTime: isoTime(row.created_at),
    lastUpdateTime: isoTime(row.last_update),
    manifestCount: Number(row.manifest_count),
    tagCount: Number(row.tag_count),
    changeableAttributes: changeableAttributes(row),
  };
}
