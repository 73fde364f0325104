import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** An identity tenant (Entra's directory). Principals and subscriptions belong to one. */
@Entity({ name: 'tenants' })
export class TenantEntity {
  /** The tenant id (a GUID), as in `/{tenant}/oauth2/v2.0/token`. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  displayName!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
