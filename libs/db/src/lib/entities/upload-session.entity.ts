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
import { bigintNumber } from '../data-source/bigint-number.transformer';
import { RegistryEntity } from './registry.entity';

/**
 * A blob upload in progress (`/v2/<name>/blobs/uploads/<id>`), so that an upload survives a frontend restart and
 * resumes at `offsetBytes`. The repository is kept by name: an upload does not create the repository (the
 * completing `PUT` links the blob and creates it). Expired sessions are swept by `expiresAt`.
 */
@Entity({ name: 'upload_sessions' })
@Index(['registryId'])
@Index(['expiresAt'])
@Check('upload_sessions_offset_bytes_check', `offset_bytes >= 0`)
export class UploadSessionEntity {
  /** The upload id in the `Location` URL and `Docker-Upload-UUID`. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text' })
  repositoryName!: string;

  /** The region whose storage holds the upload. */
  @Column({ type: 'text' })
  region!: string;

  /** The BlobStore's opaque upload id. */
  @Column({ type: 'text' })
  storageUploadId!: string;

  /** Bytes received so far = the offset the next chunk must start at. */
  @Column({ type: 'bigint', default: 0, transformer: bigintNumber })
  offsetBytes!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  startedAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;
}
