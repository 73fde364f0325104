import {
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
import { SubscriptionEntity } from './subscription.entity';

/**
 * An ARM resource group (`Microsoft.Resources/resourceGroups`). Names are unique per subscription ignoring case,
 * as in ARM (unique index on `lower(name)`). Deleting a group deletes its registries (cascade).
 */
@Entity({ name: 'resource_groups' })
@Index('resource_groups_subscription_id_name_lower_key', { synchronize: false })
export class ResourceGroupEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  subscriptionId!: string;

  @ManyToOne(() => SubscriptionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscription_id' })
  subscription?: Relation<SubscriptionEntity>;

  /** As the caller spelled it (ARM keeps the case it was created with). */
  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  location!: string;

  @Column({ type: 'jsonb', default: {} })
  tags!: Record<string, string>;

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
