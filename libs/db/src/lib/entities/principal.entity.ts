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
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { TenantEntity } from './tenant.entity';

export type PrincipalKind = 'User' | 'ServicePrincipal';

/**
 * A user or a service principal of a tenant. Service principals sign in with their client id (app id) and a
 * secret; users with their user principal name and a password. Only a password hash is stored (the token
 * service chooses the algorithm and encodes it into the string, e.g. `scrypt$...`).
 */
@Entity({ name: 'principals' })
@Unique(['clientId'])
@Index('principals_user_principal_name_lower_key', { synchronize: false })
@Index(['tenantId'])
@Check('principals_kind_check', `kind IN ('User', 'ServicePrincipal')`)
@Check('principals_client_id_check', `kind <> 'ServicePrincipal' OR client_id IS NOT NULL`)
export class PrincipalEntity {
  /** The object id (a GUID); the `oid`/`sub` of tokens issued to it. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id' })
  tenant?: Relation<TenantEntity>;

  @Column({ type: 'text' })
  kind!: PrincipalKind;

  @Column({ type: 'text' })
  displayName!: string;

  /** Service principals: the application (client) id, globally unique. Null for users. */
  @Column({ type: 'uuid', nullable: true })
  clientId!: string | null;

  /** Users: the sign-in name, unique ignoring case. Null for service principals. */
  @Column({ type: 'text', nullable: true })
  userPrincipalName!: string | null;

  /** Hash of the password or client secret; null when the principal cannot sign in with one. */
  @Column({ type: 'text', nullable: true })
  passwordHash!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  secretExpiresAt!: Date | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
