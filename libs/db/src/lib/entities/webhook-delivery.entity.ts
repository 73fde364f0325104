import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { RegistryEntity } from './registry.entity';
import { WebhookEntity } from './webhook.entity';

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** The request as ACR's `listEvents` shows it (`eventRequestMessage`); secret headers already masked. */
export interface WebhookRequestMessage {
  content: Record<string, unknown>;
  headers: Record<string, string>;
  method: string;
  requestUri: string;
  version: string;
}

/** The response as ACR's `listEvents` shows it (`eventResponseMessage`). */
export interface WebhookResponseMessage {
  content: string;
  headers: Record<string, string>;
  reasonPhrase: string;
  statusCode: string;
  version: string;
}

/**
 * The delivery log: one row per (webhook, event), updated on each attempt, so a redelivered event (consumers see
 * events at least once) finds its row instead of posting twice. `nextAttemptAt` drives retries with backoff.
 */
@Entity({ name: 'webhook_deliveries' })
@Unique(['webhookId', 'eventId'])
@Index(['webhookId', 'createdAt'])
@Index(['registryId'])
@Index('webhook_deliveries_pending_idx', ['nextAttemptAt'], { where: `status = 'pending'` })
@Check('webhook_deliveries_status_check', `status IN ('pending', 'succeeded', 'failed')`)
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  webhookId!: string;

  @ManyToOne(() => WebhookEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'webhook_id' })
  webhook?: Relation<WebhookEntity>;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  /** The webhook event id (the payload's `id`); pings get a fresh one. */
  @Column({ type: 'uuid' })
  eventId!: string;

  /** `push`, `delete`, `quarantine`, `chart_push`, `chart_delete` or `ping`. */
  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'text', default: 'pending' })
  status!: WebhookDeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ type: 'jsonb' })
  request!: WebhookRequestMessage;

  @Column({ type: 'jsonb', nullable: true })
  response!: WebhookResponseMessage | null;

  /** Why the last attempt failed without a response (timeout, refused, blocked by SSRF protection). */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
