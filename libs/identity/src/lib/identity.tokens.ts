/** DI token of the decoded master key (a Buffer of at least 32 bytes); see MasterKeyProvider. */
export const MASTER_KEY = Symbol('BERTH_MASTER_KEY');

/** Purposes of secret envelopes under the master key (one derived key each). */
export const ENVELOPE_PURPOSE = {
  signingKey: 'signing-key',
  adminPassword: 'admin-password',
} as const;
