import {
  Check,
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
import { TAG_PATTERN } from './content-checks';
import { RepositoryEntity } from './repository.entity';
import { RepositoryManifestEntity } from './repository-manifest.entity';

/**
 * A tag: (repository, name) → a manifest the repository holds. Looked up by its key; listed in byte order
 * (collation "C") with `name > $last`. Re-tagging updates `manifestDigest`; deleting the manifest from the
 * repository deletes its tags (cascade).
 */
@Entity({ name: 'tags' })
@Index(['repositoryId', 'manifestDigest'])
/** ACR's time-ordered tag listing pages on this (migration AcrTimeOrderIndexes). */
@Index(['repositoryId', 'updatedAt', 'name'])
@Check('tags_name_check', `name ~ '${TAG_PATTERN}'`)
export class TagEntity {
  @PrimaryColumn({ type: 'uuid' })
  repositoryId!: string;

  @PrimaryColumn({ type: 'text', collation: 'C' })
  name!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RepositoryEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'repository_id', referencedColumnName: 'id' },
  ])
  repository?: Relation<RepositoryEntity>;

  @Column({ type: 'text' })
  manifestDigest!: string;

  @ManyToOne(() => RepositoryManifestEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'repository_id', referencedColumnName: 'repositoryId' },
    { name: 'manifest_digest', referencedColumnName: 'digest' },
  ])
  repositoryManifest?: Relation<RepositoryManifestEntity>;

  @Column(() => ChangeableAttributes, { prefix: false })
  attributes!: ChangeableAttributes;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
