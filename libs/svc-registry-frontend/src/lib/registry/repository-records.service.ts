import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@berth/db';
import type { DataSource, EntityManager } from 'typeorm';

export interface RepositoryRecord {
  id: string;
  registryId: string;
  name: string;
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

interface Row {
  id: string;
  registry_id: string;
  name: string;
  delete_enabled: boolean;
  write_enabled: boolean;
  read_enabled: boolean;
  list_enabled: boolean;
}

function toRecord(r: Row): RepositoryRecord {
  return {
    id: r.id,
    registryId: r.registry_id,
    name: r.name,
    deleteEnabled: r.delete_enabled,
    writeEnabled: r.write_enabled,
    readEnabled: r.read_enabled,
    listEnabled: r.list_enabled,
  };
}

const COLUMNS = 'id, registry_id, name, delete_enabled, write_enabled, read_enabled, list_enabled';

/**
 * Repositories of a registry. Every method takes the registry id: a repository is only ever looked up
 * inside the registry the request resolved to (tenant isolation by signature).
 */
@Injectable()
export class RepositoryRecords {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /**
   * The repository, or undefined when the registry has none of that name. `keyShare` also locks the row against a
   * concurrent deletion until the transaction ends (what a writer about to reference it needs).
   */
  async find(
    registryId: string,
    name: string,
    em: EntityManager = this.ds.manager,
    keyShare = false,
  ): Promise<RepositoryRecord | undefined> {
    const rows = (await em.query(
      `SELECT ${COLUMNS} FROM repositories WHERE registry_id = $1 AND name = $2${keyShare ? ' FOR KEY SHARE' : ''}`,
      [registryId, name],
    )) as Row[];
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * The repository, created when missing (a push creates its repository). Safe under concurrency. Looks first (one
   * statement when it exists, the common case of every push after the first). Inside a transaction the row stays
   * key-share locked (or, when created, is the transaction's own) until it ends: the caller's writes that reference
   * it cannot lose to a deletion, and a push and a repository deletion always lock the repository first.
   */
  async findOrCreate(registryId: string, name: string, em: EntityManager = this.ds.manager): Promise<RepositoryRecord> {
    const existing = await this.find(registryId, name, em, true);
    if (existing) return existing;
    const inserted = (await em.query(
      `INSERT INTO repositories (registry_id, name) VALUES ($1, $2)
       ON CONFLICT (registry_id, name) DO NOTHING RETURNING ${COLUMNS}`,
      [registryId, name],
    )) as Row[];
    if (inserted[0]) return toRecord(inserted[0]);
    const found = await this.find(registryId, name, em, true);
    // Deleted by a concurrent transaction between the insert and the read: a lost race (SQLSTATE 40001), which
    // retryOnWriteConflict runs again.
    if (!found) throw Object.assign(new Error(`repository ${name} vanished while being created`), { code: '40001' });
    return found;
  }
}
