import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm';
import { BlobEntity } from './blob.entity';
import { ManifestEntity } from './manifest.entity';

/**
 * What a manifest references: a blob (config, layer) or a child manifest (index entries). Exactly one of
 * `blobDigest` / `childDigest` is set. Both targets must exist in the same registry and cannot be deleted while
 * referenced; the rows go with their manifest. Non-distributable layers that were never pushed are not recorded.
 */
@Entity({ name: 'manifest_references' })
// Explicit names: the default ones would pass PostgreSQL's 63-character limit.
@Unique('manifest_references_blob_key', ['registryId', 'manifestDigest', 'blobDigest'])
@Unique('manifest_references_child_key', ['registryId', 'manifestDigest', 'childDigest'])
@Index(['registryId', 'blobDigest'])
@Index(['registryId', 'childDigest'])
@Check('manifest_references_target_check', `num_nonnulls(blob_digest, child_digest) = 1`)
export class ManifestReferenceEntity {
  /** A bigint, as pg returns it (a string): nothing computes with it. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @Column({ type: 'text' })
  manifestDigest!: string;

  @ManyToOne(() => ManifestEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'manifest_digest', referencedColumnName: 'digest' },
  ])
  manifest?: Relation<ManifestEntity>;

  @Column({ type: 'text', nullable: true })
  blobDigest!: string | null;

  @ManyToOne(() => BlobEntity, { onDelete: 'NO ACTION', deferrable: 'INITIALLY DEFERRED' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'blob_digest', referencedColumnName: 'digest' },
  ])
  blob?: Relation<BlobEntity>;

  @Column({ type: 'text', nullable: true })
  childDigest!: string | null;

  @ManyToOne(() => ManifestEntity, { onDelete: 'NO ACTION', deferrable: 'INITIALLY DEFERRED' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'child_digest', referencedColumnName: 'digest' },
  ])
  child?: Relation<ManifestEntity>;
}
