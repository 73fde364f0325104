import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
  UpdateDateColumn,
} from 'typeorm';
import { RegistryEntity } from './registry.entity';

export type AdminPasswordName = 'password' | 'password2';

/**
 * One of the two admin-user passwords of a registry (`password`, `password2`; the username is the registry name).
 * ACR's `listCredentials` returns the values again, so besides the hash used to verify a login the token service
 * keeps the value in a form it can recover (`encryptedValue`, its own envelope); the plain value is never stored.
 */
@Entity({ name: 'admin_credentials' })
@Check('admin_credentials_name_check', `name IN ('password', 'password2')`)
export class AdminCredentialEntity {
  @PrimaryColumn({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @PrimaryColumn({ type: 'text' })
  name!: AdminPasswordName;

  @Column({ type: 'text' })
  passwordHash!: string;

  @Column({ type: 'text' })
  encryptedValue!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  /** When the value was last regenerated. */
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
