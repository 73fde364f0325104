import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE, storedBytesQuery } from '@berth/db';
import type { FastifyRequest } from 'fastify';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../registry/prepared-query.util';

/** How long an upload may stay open from its start; then the expiry sweep removes it (distribution: 1 week). */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

/** `storage_upload_id` of a session whose storage upload has not begun yet (nothing appended so far). */
export const STORAGE_UPLOAD_NOT_BEGUN = '';

/**
 * One resumable upload (`upload_sessions`). `id` is what clients see (`Docker-Upload-UUID`, the last segment of
 * the upload URL); `storageUploadId` names the upload in the store of `region` (the registry's home region when
 * the upload began), or is {@link STORAGE_UPLOAD_NOT_BEGUN} until the first append: the usual monolithic push
 * (POST, then one PUT with every byte) never begins one, its PUT stores the blob directly. The stored byte
 * count is the store's (`uploadStatus`); `offsetBytes` is a hint for listings, the storage quota and the offset
 * a PATCH appends at (the store refuses, before reading a byte, an offset that is not its size).
 */
export interface UploadSession {
  readonly id: string;
  readonly registryId: string;
  readonly repositoryName: string;
  readonly region: string;
  readonly storageUploadId: string;
  readonly offsetBytes: number;
  readonly startedAt: Date;
  readonly expiresAt: Date;
}

/** True until the session's first append began its storage upload. */
export function storageNotBegun(session: UploadSession): boolean {
  return session.storageUploadId === STORAGE_UPLOAD_NOT_BEGUN;
}

interface Row {
  id: string;
  registry_id: string;
  repository_name: string;
  region: string;
  storage_upload_id: string;
  offset_bytes: string;
  started_at: Date;
  expires_at: Date;
}

/**
 * A CTE that makes the statement's own (implicit) transaction commit asynchronously: `set_config(…, true)` lasts
 * until that transaction ends, so its commit does not wait for the WAL to reach the disk, and the setting never
 * outlives the statement on the pooled connection. Used only for a new session, which holds no bytes: a crash right
 * after its 202 may forget it (the client's next request on it is answered BLOB_UPLOAD_UNKNOWN and it starts over),
 * and any later synchronous commit (the first append's `recordBegun`, the PUT's record) flushes the WAL past it, so a
 * session with bytes, and every blob acknowledged, is as durable as before. It spares every upload's POST a WAL
 * flush (an fdatasync) before its 202.
 */
const ASYNC_COMMIT = `async_commit AS (SELECT set_config('synchronous_commit', 'off', true) AS synchronous_commit)`;

const COLUMNS =
  'id, registry_id, repository_name, region, storage_upload_id, offset_bytes::text AS offset_bytes, started_at, expires_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function toSession(r: Row): UploadSession {
  return {
    id: r.id,
    registryId: r.registry_id,
    repositoryName: r.repository_name,
    region: r.region,
    storageUploadId: r.storage_upload_id,
    offsetBytes: Number(r.offset_bytes),
    startedAt: new Date(r.started_at),
    expiresAt: new Date(r.expires_at),
  };
}

/** What the limits hook read about an upload before the handler ran (see {@link lookUpUploadForLimits}). */
interface UploadLookup {
  readonly registryId: string;
  readonly id: string;
  /** The row with this id in the registry (whatever its repository), undefined when there is none. */
  readonly row: UploadSession | undefined;
  /** Whether that row had not expired when it was read. */
  readonly live: boolean;
}

const LOOKED_UP = Symbol('berth.uploadLookup');

type LookupRequest = FastifyRequest & { [LOOKED_UP]?: UploadLookup };

/**
 * One statement for an upload's PATCH or PUT before it is routed (LimitsHook): the session row `id` of the registry,
 * and the registry's stored bytes (the `usage_counters` rows `storage_bytes:<n>`, as DataPlaneLimits.checkStorage
 * sums them), for the storage limit. The row is remembered on `req`, so that the handler does not read it again
 * (UploadSessions.find answers from it): with the POST's insert and the PUT's record-and-link, a layer pushed as
 * POST + PUT costs three statements. `id` that is not a UUID has no row (as in `find`).
 */
export async function lookUpUploadForLimits(
  ds: DataSource,
  req: FastifyRequest,
  registryId: string,
  id: string,
): Promise<{ session: UploadSession | undefined; usedBytes: number }> {
  const rows = await preparedQuery<Partial<Row> & { used_bytes: string; live: boolean | null }>(
    ds,
    'berth-upload-session-limits',
    `SELECT u.bytes::text AS used_bytes, s.id, s.registry_id, s.repository_name, s.region, s.storage_upload_id,
            s.offset_bytes::text AS offset_bytes, s.started_at, s.expires_at, s.expires_at > now() AS live
       FROM (${storedBytesQuery('$2::uuid')}) u
       LEFT JOIN upload_sessions s ON s.id = $1::uuid AND s.registry_id = $2::uuid`,
    [UUID.test(id) ? id : null, registryId],
  );
  const found = rows[0];
  const session = found?.id ? toSession(found as Row) : undefined;
  (req as LookupRequest)[LOOKED_UP] = { registryId, id, row: session, live: found?.live === true };
  return { session, usedBytes: Number(found?.used_bytes ?? 0) };
}

/**
 * Upload session rows. Sessions live in Postgres (and their bytes in storage), so any frontend process, including
 * one started after a restart, continues an upload. Lookups are scoped by registry AND repository: an upload id
 * of another repository or registry is unknown.
 */
@Injectable()
export class UploadSessions {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  async create(
    registryId: string,
    repositoryName: string,
    region: string,
    storageUploadId: string = STORAGE_UPLOAD_NOT_BEGUN,
  ): Promise<UploadSession> {
    const rows = (await this.ds.query(
      `WITH ${ASYNC_COMMIT}
       INSERT INTO upload_sessions (registry_id, repository_name, region, storage_upload_id, expires_at)
       SELECT $1::uuid, $2::text, $3::text, $4::text, now() + $5::float8 * interval '1 millisecond' FROM async_commit
       RETURNING ${COLUMNS}`,
      [registryId, repositoryName, region, storageUploadId, UPLOAD_TTL_MS],
    )) as Row[];
    return toSession(rows[0] as Row);
  }

  /**
   * A new session in an EXISTING repository, in one statement that also reads the repository's write flag (committed
   * asynchronously, see ASYNC_COMMIT):
   * `missing` when the repository does not exist (nothing inserted: the caller creates it first), `read-only`
   * when its writes are disabled (nothing inserted).
   */
  async createIfWritable(
    registryId: string,
    repositoryName: string,
    region: string,
  ): Promise<UploadSession | 'missing' | 'read-only'> {
    const rows = await preparedQuery<Row & { write_enabled: boolean }>(
      this.ds,
      'berth-upload-session-create',
      `WITH ${ASYNC_COMMIT}, repo AS (
         SELECT write_enabled FROM repositories, async_commit WHERE registry_id = $1::uuid AND name = $2::text
       ), created AS (
         INSERT INTO upload_sessions (registry_id, repository_name, region, storage_upload_id, expires_at)
         SELECT $1::uuid, $2::text, $3::text, $4::text, now() + $5::float8 * interval '1 millisecond' FROM repo WHERE repo.write_enabled
         RETURNING ${COLUMNS}
       )
       SELECT repo.write_enabled, created.* FROM repo LEFT JOIN created ON true`,
      [registryId, repositoryName, region, STORAGE_UPLOAD_NOT_BEGUN, UPLOAD_TTL_MS],
    );
    const row = rows[0];
    if (!row) return 'missing';
    return row.write_enabled && row.id ? toSession(row) : 'read-only';
  }

  /**
   * The live (unexpired) session `id` of repository `name` in the registry, else undefined. With `req`, the row the
   * limits hook read for this request (lookUpUploadForLimits) answers without another statement.
   */
  async find(registryId: string, repositoryName: string, id: string, req?: FastifyRequest): Promise<UploadSession | undefined> {
    const seen = req ? (req as LookupRequest)[LOOKED_UP] : undefined;
    if (seen && seen.registryId === registryId && seen.id === id) {
      return seen.row && seen.live && seen.row.repositoryName === repositoryName ? seen.row : undefined;
    }
    if (!UUID.test(id)) return undefined;
    const rows = await preparedQuery<Row>(
      this.ds,
      'berth-upload-session-find',
      `SELECT ${COLUMNS} FROM upload_sessions
        WHERE id = $1 AND registry_id = $2 AND repository_name = $3 AND expires_at > now()`,
      [id, registryId, repositoryName],
    );
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async recordOffset(id: string, registryId: string, offset: number): Promise<void> {
    await this.ds.query(
      `UPDATE upload_sessions SET offset_bytes = $3, updated_at = now() WHERE id = $1 AND registry_id = $2`,
      [id, registryId, offset],
    );
  }

  /**
   * Records the storage upload that the session's first append began, with its size, in one statement. Resolves
   * false (changing nothing) when the session no longer waits for one: another request began it meanwhile, or
   * the session is gone.
   */
  async recordBegun(id: string, registryId: string, storageUploadId: string, offset: number): Promise<boolean> {
    const [, count] = (await this.ds.query(
      `UPDATE upload_sessions SET storage_upload_id = $3, offset_bytes = $4, updated_at = now()
        WHERE id = $1 AND registry_id = $2 AND storage_upload_id = $5`,
      [id, registryId, storageUploadId, offset, STORAGE_UPLOAD_NOT_BEGUN],
    )) as [unknown, number];
    return count > 0;
  }

  async delete(id: string, registryId: string, em: EntityManager = this.ds.manager): Promise<void> {
    await em.query(`DELETE FROM upload_sessions WHERE id = $1 AND registry_id = $2`, [id, registryId]);
  }

  /** Sessions whose time is up, oldest first, at most `limit` (for the expiry sweep). */
  async expired(now: Date, limit: number): Promise<UploadSession[]> {
    const rows = (await this.ds.query(
      `SELECT ${COLUMNS} FROM upload_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [now, limit],
    )) as Row[];
    return rows.map(toSession);
  }

  /** Of the given storage uploads of `region`, those a live session still owns (as `registryId/uploadId`). */
  async liveStorageUploads(
    region: string,
    refs: ReadonlyArray<{ registryId: string; uploadId: string }>,
    now: Date,
  ): Promise<Set<string>> {
    if (refs.length === 0) return new Set();
    // (Sessions that have not begun a storage upload own none: '' is never an upload id a store mints.)
    const rows = (await this.ds.query(
      `SELECT registry_id::text AS registry_id, storage_upload_id FROM upload_sessions
        WHERE region = $1 AND expires_at > $3 AND storage_upload_id = ANY($2::text[])`,
      [region, refs.map((r) => r.uploadId), now],
    )) as Array<{ registry_id: string; storage_upload_id: string }>;
    return new Set(rows.map((r) => `${r.registry_id}/${r.storage_upload_id}`));
  }
}
