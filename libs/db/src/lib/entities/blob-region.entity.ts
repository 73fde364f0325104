import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { BlobEntity } from './blob.entity';

/**
 * A region whose storage holds a blob's bytes (verified). A row is written only after the copy landed and its
 * digest matched; pulls in a region without a row are served from the home region.
 */
@Entity({ name: 'blob_regions' })
export class BlobRegionEntity {
  @PrimaryColumn({ type: 'uuid' })
  registryId!: string;

  @PrimaryColumn({ type: 'text' })
  digest!: string;

  @ManyToOne(() => BlobEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'digest', referencedColumnName: 'digest' },
  ])
  blob?: Relation<BlobEntity>;

  @PrimaryColumn({ type: 'text' })
  region!: string;

  /** When the region's copy became available. */
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
