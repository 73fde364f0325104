import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintNumber } from '../data-source/bigint-number.transformer';

/**
 * The transactional outbox: an event written in the same transaction as the change it describes, and published
 * to the event bus by the relay afterwards (at least once). `publishedAt` stays null until relayed; the relay
 * reads unpublished rows in `seq` order (partial index `outbox_events_unpublished_idx`). Rows outlive the
 * registry they describe (no foreign key): a delete event must still go out.
 */
@Entity({ name: 'outbox_events' })
@Index('outbox_events_unpublished_idx', ['seq'], { where: 'published_at IS NULL' })
@Index('outbox_events_published_at_idx', ['publishedAt'], { where: 'published_at IS NOT NULL' })
export class OutboxEventEntity {
  /** The event id: the idempotency key every consumer dedupes on. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Insertion order, for the relay (assigned by the database). */
  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintNumber })
  seq!: number;

  @Column({ type: 'text' })
  topic!: string;

  /** The bus partition key (the registry id, so per-registry order holds). */
  @Column({ type: 'text' })
  key!: string;

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  /** Bus headers, e.g. `traceparent`. */
  @Column({ type: 'jsonb', default: {} })
  headers!: Record<string, string>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;
}
