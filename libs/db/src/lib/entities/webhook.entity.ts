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
  UpdateDateColumn,
} from 'typeorm';
import { RegistryEntity } from './registry.entity';

export type WebhookAction = 'push' | 'delete' | 'quarantine' | 'chart_push' | 'chart_delete';

/**
 * A registry webhook (`.../registries/{r}/webhooks/{name}`). `serviceUri` and `customHeaders` are secrets: the
 * management API returns them only from `getCallbackConfig`, and they are never logged. `scope` follows ACR:
 * `repo:*`, `repo:tag`, `repo` (= `repo:latest`) or empty for every event. Names unique per registry ignoring case.
 */
@Entity({ name: 'webhooks' })
@Index('webhooks_registry_id_name_lower_key', { synchronize: false })
@Check('webhooks_status_check', `status IN ('enabled', 'disabled')`)
@Check(
  'webhooks_actions_check',
  `actions <@ ARRAY['push', 'delete', 'quarantine', 'chart_push', 'chart_delete']::text[]`,
)
export class WebhookEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text' })
  name!: string;

  /** The replica region whose events this webhook receives. */
  @Column({ type: 'text' })
  location!: string;

  @Column({ type: 'text' })
  serviceUri!: string;

  @Column({ type: 'jsonb', default: {} })
  customHeaders!: Record<string, string>;

  @Column({ type: 'text', default: 'enabled' })
  status!: 'enabled' | 'disabled';

  @Column({ type: 'text', default: '' })
  scope!: string;

  @Column({ type: 'text', array: true })
  actions!: WebhookAction[];

  @Column({ type: 'jsonb', default: {} })
  tags!: Record<string, string>;

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
