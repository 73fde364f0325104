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
import { ResourceGroupEntity } from './resource-group.entity';
import { SubscriptionEntity } from './subscription.entity';

export type RegistrySku = 'Basic' | 'Standard' | 'Premium';

/**
 * ACR's `policies` object, as stored. Absent members mean the ARM default (quarantine disabled, trust disabled,
 * retention disabled with 7 days, export enabled, soft delete disabled with 7 days).
 */
export interface RegistryPolicies {
  quarantinePolicy?: { status: 'enabled' | 'disabled' };
  trustPolicy?: { type: 'Notary'; status: 'enabled' | 'disabled' };
  retentionPolicy?: { days: number; status: 'enabled' | 'disabled'; lastUpdatedTime?: string };
  exportPolicy?: { status: 'enabled' | 'disabled' };
  azureADAuthenticationAsArmPolicy?: { status: 'enabled' | 'disabled' };
  softDeletePolicy?: { retentionDays: number; status: 'enabled' | 'disabled'; lastUpdatedTime?: string };
}

/**
 * A registry (`Microsoft.ContainerRegistry/registries`). Names are globally unique ignoring case (unique index on
 * `lower(name)`), 5-50 letters and digits. Deleting a registry deletes everything it owns: repositories, blobs,
 * manifests, tags, uploads, replications, webhooks and their deliveries, tokens, scope maps, credentials,
 * registry-scoped role assignments and usage counters (all ON DELETE CASCADE). Stored blob bytes are not rows: the
 * metadata service removes them from storage.
 */
@Entity({ name: 'registries' })
@Index('registries_name_lower_key', { synchronize: false })
@Index('registries_login_server_lower_key', { synchronize: false })
@Index(['subscriptionId'])
@Index(['resourceGroupId'])
@Check('registries_name_check', `name ~ '^[a-zA-Z0-9]{5,50}$'`)
@Check('registries_sku_check', `sku IN ('Basic', 'Standard', 'Premium')`)
export class RegistryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  subscriptionId!: string;

  @ManyToOne(() => SubscriptionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscription_id' })
  subscription?: Relation<SubscriptionEntity>;

  @Column({ type: 'uuid' })
  resourceGroupId!: string;

  @ManyToOne(() => ResourceGroupEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'resource_group_id' })
  resourceGroup?: Relation<ResourceGroupEntity>;

  /** As created (ACR keeps the case); compare with `lower(name)`. */
  @Column({ type: 'text' })
  name!: string;

  /** `<lower(name)>.<login suffix>`, fixed when the registry is created; unique ignoring case. */
  @Column({ type: 'text' })
  loginServer!: string;

  /** The home region (ARM `location`): fixed at creation, hosts the registry's control plane. */
  @Column({ type: 'text' })
  location!: string;

  @Column({ type: 'text' })
  sku!: RegistrySku;

  @Column({ type: 'boolean', default: false })
  adminUserEnabled!: boolean;

  @Column({ type: 'boolean', default: false })
  anonymousPullEnabled!: boolean;

  @Column({ type: 'jsonb', default: {} })
  policies!: RegistryPolicies;

  /**
   * The rest of ARM `properties` that the data plane does not read on its hot path (networkRuleSet, encryption,
   * publicNetworkAccess, zoneRedundancy, dataEndpointEnabled, roleAssignmentMode, ...), as the management API
   * accepted them.
   */
  @Column({ type: 'jsonb', default: {} })
  properties!: Record<string, unknown>;

  /** ARM `identity`, or null. */
  @Column({ type: 'jsonb', nullable: true })
  identity!: Record<string, unknown> | null;

  @Column({ type: 'jsonb', default: {} })
  tags!: Record<string, string>;

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  /** ARM `creationDate`. */
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
