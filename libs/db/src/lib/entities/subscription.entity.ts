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
import { TenantEntity } from './tenant.entity';

export type SubscriptionState = 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted';

/** An ARM subscription: the root of `/subscriptions/{id}/...` management URLs. */
@Entity({ name: 'subscriptions' })
@Check('subscriptions_state_check', `state IN ('Enabled', 'Disabled', 'Warned', 'PastDue', 'Deleted')`)
@Index(['tenantId'])
export class SubscriptionEntity {
  /** The subscription id (a GUID). */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id' })
  tenant?: Relation<TenantEntity>;

  @Column({ type: 'text' })
  displayName!: string;

  @Column({ type: 'text', default: 'Enabled' })
  state!: SubscriptionState;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
