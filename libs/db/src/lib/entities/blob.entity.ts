import { Check, Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { bigintNumber } from '../data-source/bigint-number.transformer';
import { DIGEST_PATTERN } from './content-checks';
import { RegistryEntity } from './registry.entity';

/**
 * A blob known to a registry: content-addressed per registry (key (registry_id, digest)); its bytes live in blob
 * storage under `registries/<registryId>/blobs/<alg>/<2 hex>/<hex>` in each region listed in `blob_regions`.
 * A repository may read it only through a `repository_blobs` link. A row cannot be deleted while a link or a
 * manifest reference still points at it (foreign keys without cascade), which is what keeps garbage collection
 * from deleting a blob in use.
 */
@Entity({ name: 'blobs' })
@Check('blobs_digest_check', `digest ~ '${DIGEST_PATTERN}'`)
@Check('blobs_size_check', `size >= 0`)
export class BlobEntity {
  @PrimaryColumn({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @PrimaryColumn({ type: 'text' })
  digest!: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  /** The media type it was first referenced with, when known. */
  @Column({ type: 'text', nullable: true })
  mediaType!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
