/** What the identity services need to know about a registry. Loaded from the database by id, never taken from a caller. */
export interface RegistryFacts {
  id: string;
  /** The registry name as created (ACR names are case-insensitive). */
  name: string;
  /** `<name>.<BERTH_LOGIN_SUFFIX>`, lower case: the `aud` of its registry tokens. */
  canonicalLoginServer: string;
  sku: 'Basic' | 'Standard' | 'Premium';
  adminUserEnabled: boolean;
  anonymousPullEnabled: boolean;
  subscriptionId: string;
  resourceGroupName: string;
  tenantId: string;
  /** The registry's ARM id (`/subscriptions/.../registries/<name>`). */
  armId: string;
}

/** The least a caller passes to name a registry (the frontend's resolved registry satisfies it). */
export interface RegistryIdRef {
  id: string;
}
