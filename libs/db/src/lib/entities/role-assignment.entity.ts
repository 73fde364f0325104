import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { PrincipalEntity } from './principal.entity';
import { RegistryEntity } from './registry.entity';
import { ResourceGroupEntity } from './resource-group.entity';
import { SubscriptionEntity } from './subscription.entity';

/**
 * An ARM role assignment: a principal holds a role definition at a scope (`/subscriptions/{s}`,
 * `.../resourceGroups/{g}`, `.../registries/{r}`), optionally with an ABAC condition. The scope string is
 * authoritative; the resolved subscription / resource group / registry ids exist so that deleting the resource
 * deletes its assignments (cascade) and so that lookups by registry are indexed. Unique per
 * (principal, role, lower(scope)).
 */
@Entity({ name: 'role_assignments' })
@Index('role_assignments_principal_id_role_scope_key', { synchronize: false })
@Index(['subscriptionId'])
@Index(['resourceGroupId'])
@Index(['registryId'])
export class RoleAssignmentEntity {
  /** The assignment name (a GUID), as in ARM. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  principalId!: string;

  @ManyToOne(() => PrincipalEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'principal_id' })
  principal?: Relation<PrincipalEntity>;

  /** The role definition id (e.g. AcrPull `7f951dda-4ed3-4680-a7ca-43fe172d538d`). */
  @Column({ type: 'uuid' })
  roleDefinitionId!: string;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'uuid', nullable: true })
  subscriptionId!: string | null;

  @ManyToOne(() => SubscriptionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscription_id' })
  subscription?: Relation<SubscriptionEntity>;

  @Column({ type: 'uuid', nullable: true })
  resourceGroupId!: string | null;

  @ManyToOne(() => ResourceGroupEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'resource_group_id' })
  resourceGroup?: Relation<ResourceGroupEntity>;

  @Column({ type: 'uuid', nullable: true })
  registryId!: string | null;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  /** ABAC condition (conditionVersion 2.0), e.g. a repository-name restriction. */
  @Column({ type: 'text', nullable: true })
  condition!: string | null;

  @Column({ type: 'text', nullable: true })
  conditionVersion!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
