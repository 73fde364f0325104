import type { DataSource } from 'typeorm';
import { repositoryUnknown } from '../manifests/manifest-errors.util';
import type { RepositoryRecord, RepositoryRecords } from '../registry/repository-records.service';
import { badRequest } from './acr-params.util';

/** The repository of the registry, or NAME_UNKNOWN (404). */
export async function requireRepository(records: RepositoryRecords, registryId: string, name: string): Promise<RepositoryRecord> {
  const repo = await records.find(registryId, name);
  if (!repo) throw repositoryUnknown(name);
  return repo;
}

const LAST_KEYS = {
  tag: { table: 'tags', column: 'name' },
  manifest: { table: 'repository_manifests', column: 'digest' },
} as const;

/**
 * Under a time order, `last` must name an item of the repository (its position is its update time); one
 * that does not (deleted meanwhile, or made up) is a 400 asking to list again rather than a silent restart.
 */
export async function assertLastExists(ds: DataSource, kind: keyof typeof LAST_KEYS, repositoryId: string, last: string): Promise<void> {
  const { table, column } = LAST_KEYS[kind];
  const rows = (await ds.query(`SELECT 1 FROM ${table} WHERE repository_id = $1 AND ${column} = $2`, [repositoryId, last])) as unknown[];
  if (rows.length === 0) throw badRequest(`last names no ${kind} of this repository; list again from the start`, { last: last.slice(0, 200) });
}
