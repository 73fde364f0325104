import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { ChangeableAttributes } from './changeable-attributes';
import { RegistryEntity } from './registry.entity';

/**
 * A repository of a registry. `name` is unique per registry and collated "C", so the catalog lists in byte order
 * and paginates with `name > $last` on the (registry_id, name) index. The unique (registry_id, id) is the target of
 * the composite foreign keys of the content tables, which pins every link and tag to its repository's registry.
 */
@Entity({ name: 'repositories' })
@Unique(['registryId', 'name'])
@Unique(['registryId', 'id'])
export class RepositoryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text', collation: 'C' })
  name!: string;

  @Column(() => ChangeableAttributes, { prefix: false })
  attributes!: ChangeableAttributes;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  /** Last push or attribute change (ACR `lastUpdateTime`). */
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
