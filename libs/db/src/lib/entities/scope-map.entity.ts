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

/**
 * A scope map: the repository actions a token grants (`repositories/<repo>/content/read`, ...). Names unique per
 * registry ignoring case. The unique (registry_id, id) lets tokens reference a scope map of their own registry only.
 */
@Entity({ name: 'scope_maps' })
@Unique(['registryId', 'id'])
@Index('scope_maps_registry_id_name_lower_key', { synchronize: false })
@Check('scope_maps_type_check', `type IN ('UserDefined', 'SystemDefined')`)
export class ScopeMapEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'text', default: 'UserDefined' })
  type!: 'UserDefined' | 'SystemDefined';

  @Column({ type: 'text', array: true })
  actions!: string[];

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
