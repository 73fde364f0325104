import type { DataSource, QueryRunner } from 'typeorm';
import { orderKey } from './outbox-batch.util';
import type { OutboxRow } from './outbox-batch.util';

/** How far the relay is behind, for metrics and alerts. */
export interface OutboxLag {
  /** Unpublished rows. */
  count: number;
  /** Age of the oldest unpublished row in milliseconds (database clock), 0 when there is none. */
  oldestAgeMs: number;
}

interface ClaimedRecord {
  id: string;
  seq: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

/**
 * The relay's SQL, on a query runner inside the relay's transaction. Every statement is index-backed:
 * `outbox_events_unpublished_idx` (seq, WHERE published_at IS NULL) for claims and the ordering guard,
 * `outbox_events_published_at_idx` for the retention purge.
 */
export class OutboxStore {
  /** @param leaderLockKey the advisory lock key electing the working relay (a signed 64-bit integer, decimal). */
  constructor(private readonly leaderLockKey: string) {}

  /**
   * Takes the relay leader lock for the rest of the transaction, without waiting. False: another relay is working
   * on a batch right now.
   */
  async tryLeaderLock(runner: QueryRunner): Promise<boolean> {
    const rows = (await runner.query('SELECT pg_try_advisory_xact_lock($1::bigint) AS locked', [
      this.leaderLockKey,
    ])) as Array<{ locked: boolean }>;
    return rows[0]?.locked === true;
  }

  /**
   * Locks and returns up to `limit` unpublished rows in `seq` order, leaving out `excludeTopics` (topics backing off
   * after a failed publish). SKIP LOCKED: a claim never waits on a row lock.
   */
  async claim(runner: QueryRunner, limit: number, excludeTopics: readonly string[]): Promise<OutboxRow[]> {
    const records = (await runner.query(
      `SELECT id, seq::text AS seq, topic, key, payload, headers
       FROM outbox_events
       WHERE published_at IS NULL AND NOT (topic = ANY($2::text[]))
       ORDER BY outbox_events.seq -- the bigint column, not the text alias (which would sort 10 before 2)
       LIMIT $1
       FOR UPDATE SKIP LOCKED`,
      [limit, excludeTopics],
    )) as ClaimedRecord[];
    return records.map((r) => ({ ...r, headers: r.headers ?? {} }));
  }

  /**
   * For the ordering guard: per topic and key of the claimed rows, the smallest `seq` of an unpublished row that is
   * earlier than a claimed row of that key but not in the batch (a row SKIP LOCKED passed over).
   */
  async earliestOutside(runner: QueryRunner, rows: readonly OutboxRow[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    if (rows.length === 0) return result;
    const maxSeq = rows.reduce((max, r) => (BigInt(r.seq) > max ? BigInt(r.seq) : max), 0n);
    const claimed = new Set(rows.map((r) => orderKey(r.topic, r.key)));
    const records = (await runner.query(
      `SELECT topic, key, min(seq)::text AS seq
       FROM outbox_events
       WHERE published_at IS NULL AND seq < $1::bigint AND NOT (id = ANY($2::uuid[]))
         AND topic = ANY($3::text[]) AND key = ANY($4::text[])
       GROUP BY topic, key`,
      [
        maxSeq.toString(),
        rows.map((r) => r.id),
        [...new Set(rows.map((r) => r.topic))],
        [...new Set(rows.map((r) => r.key))],
      ],
    )) as Array<{ topic: string; key: string; seq: string }>;
    for (const r of records) {
      const k = orderKey(r.topic, r.key);
      if (claimed.has(k)) result.set(k, r.seq);
    }
    return result;
  }

  /** Marks rows published (now). Resolves with how many were marked. */
  async markPublished(runner: QueryRunner, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await runner.query(
      'UPDATE outbox_events SET published_at = now() WHERE id = ANY($1::uuid[]) AND published_at IS NULL',
      [ids],
      true,
    );
    return result.affected ?? 0;
  }
}

/** Counts unpublished rows and the age of the oldest (see OutboxLag). One index scan. */
export async function readOutboxLag(dataSource: DataSource): Promise<OutboxLag> {
  const rows = (await dataSource.query(
    `SELECT count(*)::float8 AS count,
            COALESCE(EXTRACT(EPOCH FROM (now() - min(created_at))) * 1000, 0)::float8 AS oldest_age_ms
     FROM outbox_events WHERE published_at IS NULL`,
  )) as Array<{ count: number; oldest_age_ms: number }>;
  const row = rows[0];
  return { count: row?.count ?? 0, oldestAgeMs: Math.max(0, Math.round(row?.oldest_age_ms ?? 0)) };
}

/**
 * Deletes one batch of rows published more than `olderThanMs` ago (oldest first, skipping rows another purge has
 * locked). Resolves with how many were deleted.
 */
export async function deletePublishedBatch(
  dataSource: DataSource,
  olderThanMs: number,
  batchSize: number,
): Promise<number> {
  const runner = dataSource.createQueryRunner();
  try {
    const result = await runner.query(
      `DELETE FROM outbox_events WHERE id IN (
         SELECT id FROM outbox_events
         WHERE published_at IS NOT NULL AND published_at < now() - ($1::float8 * interval '1 millisecond')
         ORDER BY published_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)`,
      [olderThanMs, batchSize],
      true,
    );
    return result.affected ?? 0;
  } finally {
    await runner.release();
  }
}
