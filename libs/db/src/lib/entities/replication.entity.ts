import {
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

/** ARM `status` of a replication. */
export interface ReplicationStatus {
  displayStatus?: string;
  message?: string;
  timestamp?: string;
}

/**
 * A geo-replica of a Premium registry in one region (`.../registries/{r}/replications/{name}`). At most one per
 * region; names unique per registry ignoring case. Which blobs a region already holds is in `blob_regions`.
 */
@Entity({ name: 'replications' })
@Unique(['registryId', 'location'])
@Index('replications_registry_id_name_lower_key', { synchronize: false })
export class ReplicationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text' })
  name!: string;

  /** The region this replica serves. */
  @Column({ type: 'text' })
  location!: string;

  /** False: excluded from global-endpoint routing but still synced. */
  @Column({ type: 'boolean', default: true })
  regionEndpointEnabled!: boolean;

  @Column({ type: 'text', default: 'Disabled' })
  zoneRedundancy!: string;

  @Column({ type: 'jsonb', default: {} })
  tags!: Record<string, string>;

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  @Column({ type: 'jsonb', nullable: true })
  status!: ReplicationStatus | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
