import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { ChangeableAttributes } from './changeable-attributes';
import { ManifestEntity } from './manifest.entity';
import { RepositoryEntity } from './repository.entity';

/**
 * A manifest in a repository, with its per-repository state: ACR changeable attributes and quarantine. Deleting
 * this row (delete by digest) deletes the manifest's tags in the repository (cascade); deleting the repository
 * deletes it. The manifest row cannot be deleted while any repository still holds it.
 */
@Entity({ name: 'repository_manifests' })
@Index(['registryId', 'digest'])
/** ACR's time-ordered manifest listing pages on this (migration AcrTimeOrderIndexes). */
@Index(['repositoryId', 'updatedAt', 'digest'])
export class RepositoryManifestEntity {
  @PrimaryColumn({ type: 'uuid' })
  repositoryId!: string;

  @PrimaryColumn({ type: 'text' })
  digest!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RepositoryEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'repository_id', referencedColumnName: 'id' },
  ])
  repository?: Relation<RepositoryEntity>;

  @ManyToOne(() => ManifestEntity, { onDelete: 'NO ACTION', deferrable: 'INITIALLY DEFERRED' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'digest', referencedColumnName: 'digest' },
  ])
  manifest?: Relation<ManifestEntity>;

  @Column(() => ChangeableAttributes, { prefix: false })
  attributes!: ChangeableAttributes;

  /** ACR quarantine: null (never quarantined), `Pending`, `Passed` or `Failed`. */
  @Column({ type: 'text', nullable: true })
  quarantineState!: string | null;

  @Column({ type: 'text', nullable: true })
  quarantineDetails!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
