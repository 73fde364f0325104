/** The Postgres NOTIFY channel writers signal after inserting outbox rows; every relay LISTENs on it. */
export const OUTBOX_CHANNEL = 'berth_outbox';

/**
 * The transaction-scoped advisory lock (`pg_try_advisory_xact_lock`) a relay holds while it handles a batch, so that
 * only one relay of a database works at a time ("berthrly" as 8 bytes, next to the migrations' "berthmig").
 */
export const OUTBOX_LEADER_LOCK_KEY = '7090199032658816121';

/**
 * Largest encoded event `writeOutboxEvent` accepts (512 KiB). Kafka refuses a record batch above `message.max.bytes`
 * (1 MiB by default), and a row the bus can never take would hold back every later event of its key; refusing it
 * at write time fails the writer's request instead, loudly, before anything is committed.
 */
export const OUTBOX_MAX_EVENT_BYTES = 512 * 1024;
