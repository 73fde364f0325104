/** Who calls the management API, from a verified identity access token. */
export interface ArmCaller {
  principalId: string;
  tenantId: string;
  clientId: string;
}

/** The control-plane operations ARM distinguishes. */
export type ArmOperation = 'read' | 'write' | 'delete';

/**
 * Authentication and authorization of management calls (libs/identity behind it; a port so that the routing can be
 * tested and the identity implementation can change without touching handlers).
 */
export interface ArmIdentity {
  /**
   * Verifies the `Authorization: Bearer` identity token (audience BERTH_PUBLIC_URL or https://management.azure.com).
   * Rejects with ArmError 401 (AuthenticationFailed when missing, InvalidAuthenticationToken when invalid).
   */
  authenticate(authorization: string | undefined): Promise<ArmCaller>;
  /** Whether any role assignment of the caller lies within the subscription (else ARM answers 404 for it). */
  seesSubscription(caller: ArmCaller, subscriptionId: string): Promise<boolean>;
  /** Whether the caller's roles allow `operation` at the ARM scope (Owner, Contributor, Reader, applied downwards). */
  may(caller: ArmCaller, scope: string, operation: ArmOperation): Promise<boolean>;
}

export const ARM_IDENTITY = Symbol('ARM_IDENTITY');

/** Hashing and sealing of generated credentials (admin passwords, token passwords). */
export interface CredentialSecrets {
  /** A new random password in ACR's style (base64-like, 52 characters). */
  generate(): string;
  hash(password: string): Promise<string>;
  /** Encrypts a value for storage under the master key; `purpose` binds it to its use. */
  seal(purpose: string, value: string): string;
  open(purpose: string, sealed: string): string;
}

export const CREDENTIAL_SECRETS = Symbol('CREDENTIAL_SECRETS');
