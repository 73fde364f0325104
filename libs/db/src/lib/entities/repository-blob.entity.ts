import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { BlobEntity } from './blob.entity';
import { RepositoryEntity } from './repository.entity';

/**
 * A blob linked to a repository: the only thing that lets the repository serve it. Pushing a blob and a
 * cross-repository mount both just insert this row (no copy). Deleting the repository removes its links;
 * the blob row itself cannot be deleted while linked.
 */
@Entity({ name: 'repository_blobs' })
@Index(['registryId', 'digest'])
export class RepositoryBlobEntity {
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

  @ManyToOne(() => BlobEntity, { onDelete: 'NO ACTION', deferrable: 'INITIALLY DEFERRED' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'digest', referencedColumnName: 'digest' },
  ])
  blob?: Relation<BlobEntity>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
