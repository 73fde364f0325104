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
import { bigintNumber } from '../data-source/bigint-number.transformer';
import { DIGEST_PATTERN, MAX_MANIFEST_BYTES } from './content-checks';
import { RegistryEntity } from './registry.entity';

/**
 * A manifest (image manifest, index, artifact) stored in Postgres, content-addressed per registry: the exact bytes
 * that were pushed (at most 4 MiB; `size` always equals their length) plus the fields the API needs without
 * parsing them. Repositories see it through `repository_manifests`; what it references is in
 * `manifest_references`. Referrers are found by `subject_digest` (indexed).
 */
@Entity({ name: 'manifests' })
@Index('manifests_registry_id_subject_digest_idx', ['registryId', 'subjectDigest'], {
  where: 'subject_digest IS NOT NULL',
})
@Check('manifests_digest_check', `digest ~ '${DIGEST_PATTERN}'`)
@Check('manifests_size_check', `size = octet_length(content) AND size <= ${MAX_MANIFEST_BYTES}`)
export class ManifestEntity {
  @PrimaryColumn({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @PrimaryColumn({ type: 'text' })
  digest!: string;

  @Column({ type: 'text' })
  mediaType!: string;

  /** The manifest's `artifactType`, or null. */
  @Column({ type: 'text', nullable: true })
  artifactType!: string | null;

  /** The `subject` descriptor's digest (OCI 1.1 referrers); the subject need not exist. */
  @Column({ type: 'text', nullable: true })
  subjectDigest!: string | null;

  @Column({ type: 'text', nullable: true })
  configDigest!: string | null;

  @Column({ type: 'text', nullable: true })
  configMediaType!: string | null;

  @Column({ type: 'bigint', transformer: bigintNumber })
  size!: number;

  @Column({ type: 'bytea' })
  content!: Buffer;

  /** The manifest's `annotations` (referrers descriptors carry them). */
  @Column({ type: 'jsonb', nullable: true })
  annotations!: Record<string, string> | null;

  /** Platform of an image manifest (from its config), for ACR's manifest listing. */
  @Column({ type: 'text', nullable: true })
  architecture!: string | null;

  @Column({ type: 'text', nullable: true })
  os!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
