import { CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Events a consumer group has handled, for idempotent consumers: insert (group, event id) in the same transaction
 * as the effect; a conflict means the event was already handled. Old rows are pruned by `processedAt`.
 */
@Entity({ name: 'processed_events' })
@Index(['processedAt'])
export class ProcessedEventEntity {
  @PrimaryColumn({ type: 'text' })
  consumerGroup!: string;

  @PrimaryColumn({ type: 'uuid' })
  eventId!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  processedAt!: Date;
}
