import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation, UpdateDateColumn } from 'typeorm';
import { bigintNumber } from '../data-source/bigint-number.transformer';
import { RegistryEntity } from './registry.entity';

/**
 * A usage counter of a registry (ACR `listUsages`), e.g. `Size` in bytes. Updated in place with
 * `value = value + $delta` in the transaction that changes the usage.
 */
@Entity({ name: 'usage_counters' })
export class UsageCounterEntity {
  @PrimaryColumn({ type: 'uuid' })
  registryId!: string;

  @ManyToOne(() => RegistryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'registry_id' })
  registry?: Relation<RegistryEntity>;

  @PrimaryColumn({ type: 'text' })
  metric!: string;

  @Column({ type: 'bigint', default: 0, transformer: bigintNumber })
  value!: number;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
