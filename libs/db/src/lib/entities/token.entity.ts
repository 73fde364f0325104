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
import { RegistryEntity } from './registry.entity';
import { ScopeMapEntity } from './scope-map.entity';

/**
 * A non-Entra repository-scoped token (`.../registries/{r}/tokens/{name}`): username = token name, password =
 * password1 or password2. ACR shows password values once, so only hashes are kept. The scope map must belong to
 * the same registry (composite foreign key) and cannot be deleted while a token uses it.
 */
@Entity({ name: 'tokens' })
@Index('tokens_registry_id_name_lower_key', { synchronize: false })
@Index(['registryId', 'scopeMapId'])
@Check('tokens_status_check', `status IN ('enabled', 'disabled')`)
export class TokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'uuid' })
  scopeMapId!: string;

  @ManyToOne(() => ScopeMapEntity, { onDelete: 'NO ACTION', deferrable: 'INITIALLY DEFERRED' })
  @JoinColumn([
    { name: 'registry_id', referencedColumnName: 'registryId' },
    { name: 'scope_map_id', referencedColumnName: 'id' },
  ])
  scopeMap?: Relation<ScopeMapEntity>;

  @Column({ type: 'text', default: 'enabled' })
  status!: 'enabled' | 'disabled';

  @Column({ type: 'text', nullable: true })
  password1Hash!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  password1CreatedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  password1ExpiresAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  password2Hash!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  password2CreatedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  password2ExpiresAt!: Date | null;

  /** ACR `credentials.certificates` (public parts only). */
  @Column({ type: 'jsonb', default: [] })
  certificates!: Record<string, unknown>[];

  @Column({ type: 'text', default: 'Succeeded' })
  provisioningState!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
