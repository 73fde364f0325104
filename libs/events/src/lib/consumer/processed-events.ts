import type { DataSource, EntityManager } from 'typeorm';

/**
 * Claims `eventId` for `groupId` inside the caller's transaction: true when this transaction recorded it, false when
 * it was recorded before. A concurrent claim of the same event waits for this transaction, then sees it recorded
 * once it commits (or claims it itself if it rolls back), so two deliveries racing each other run the effect once.
 */
export async function claimProcessedEvent(em: EntityManager, groupId: string, eventId: string): Promise<boolean> {
  const rows = (await em.query(
    `INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)
     ON CONFLICT (consumer_group, event_id) DO NOTHING
     RETURNING event_id`,
    [groupId, eventId],
  )) as unknown[];
  return rows.length > 0;
}

/** Whether `groupId` has recorded `eventId` as handled. */
export async function isEventProcessed(em: EntityManager, groupId: string, eventId: string): Promise<boolean> {
  const rows = (await em.query('SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2', [
    groupId,
    eventId,
  ])) as unknown[];
  return rows.length > 0;
}

/** Options of `collectProcessedEvents`. */
export interface CollectProcessedEventsOptions {
  /** Whose records to delete. */
  groupId: string;
  /** Records older than this are deleted. */
  olderThanMs: number;
  /** Rows deleted per statement. Default 1000. */
  batchSize?: number;
  /** Stops between statements once this signal aborts. */
  signal?: AbortSignal;
}

/**
 * Deletes a group's processed-event records older than `olderThanMs`, in small batches (oldest first, skipping rows
 * another collector has locked), until none is left. Resolves with how many were deleted. Keep `olderThanMs` above
 * the longest a message can take to be redelivered (the topic's retention, if a group may be rewound): an event
 * whose record is gone is handled again.
 */
export async function collectProcessedEvents(
  dataSource: DataSource,
  options: CollectProcessedEventsOptions,
): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  let total = 0;
  for (;;) {
    const runner = dataSource.createQueryRunner();
    let deleted: number;
    try {
      const result = await runner.query(
        `DELETE FROM processed_events WHERE (consumer_group, event_id) IN (
           SELECT consumer_group, event_id FROM processed_events
           WHERE consumer_group = $1 AND processed_at < now() - ($2::float8 * interval '1 millisecond')
           ORDER BY processed_at
           LIMIT $3
           FOR UPDATE SKIP LOCKED)`,
        [options.groupId, options.olderThanMs, batchSize],
        true,
      );
      deleted = result.affected ?? 0;
    } finally {
      await runner.release();
    }
    total += deleted;
    if (deleted < batchSize || options.signal?.aborted) return total;
  }
}
