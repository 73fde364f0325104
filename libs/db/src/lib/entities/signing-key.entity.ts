import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A key the token service signs JWTs with. The JWKS publishes every key whose `expiresAt` has not passed; new
 * tokens are signed with the newest key that is activated and not retired. `privateKey` holds what the token
 * service wrote (it decides whether and how to encrypt it); it is never logged.
 */
@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  /** The JWT `kid`. */
  @PrimaryColumn({ type: 'text' })
  kid!: string;

  /** JWS algorithm, e.g. `RS256` or `ES256`. */
  @Column({ type: 'text' })
  algorithm!: string;

  /** The public key as a JWK (without private members). */
  @Column({ type: 'jsonb' })
  publicJwk!: Record<string, unknown>;

  @Column({ type: 'text' })
  privateKey!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  /** From when the key may sign (published in JWKS before, so verifiers already know it). */
  @Column({ type: 'timestamptz', default: () => 'now()' })
  activatedAt!: Date;

  /** From when the key no longer signs; it still verifies until `expiresAt`. */
  @Column({ type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;

  /** From when the key is dropped from JWKS. */
  @Column({ type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;
}
