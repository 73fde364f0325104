/** The service tiers a registry can have (ACR's `sku.name`; Classic is retired and not offered). */
export const SKU_NAMES = ['Basic', 'Standard', 'Premium'] as const;
export type SkuName = (typeof SKU_NAMES)[number];

/** Data-plane request categories that are throttled separately (reference §10.1). */
export const THROTTLE_CATEGORIES = ['read', 'write', 'delete', 'listReferrers'] as const;
export type ThrottleCategory = (typeof THROTTLE_CATEGORIES)[number];

/** Requests per minute for one category: the whole registry, and each identity within it. */
export interface RateLimit {
  perRegistry: number;
  perIdentity: number;
}

/** What a tier switches on. `false` means the tier refuses the setting or sub-resource. */
export interface TierFeatures {
  anonymousPull: boolean;
  geoReplication: boolean;
  /** `networkRuleSet` with IP rules (and `defaultAction: Deny`). */
  ipRules: boolean;
  privateLink: boolean;
  retentionPolicy: boolean;
  /** Docker Content Trust (`policies.trustPolicy`). */
  contentTrust: boolean;
  exportPolicy: boolean;
  dataEndpoint: boolean;
  regionalEndpoints: boolean;
  customerManagedKeys: boolean;
  connectedRegistries: boolean;
}

/** One tier's limits as data. Counts of -1 mean "no documented limit". */
export interface Tier {
  name: SkuName;
  /** Storage included in the price; above it ACR bills per GiB/day (Berth only reports it). */
  includedStorageBytes: number;
  /** The hard storage limit: a push that would exceed it is refused. */
  storageLimitBytes: number;
  webhooks: number;
  tokens: number;
  scopeMaps: number;
  actionsPerScopeMap: number;
  ipRules: number;
  vnetRules: number;
  privateEndpoints: number;
  /** Geo-replications (replicas besides the home region); 0 when the tier has none, -1 when unlimited. */
  replications: number;
  connectedRegistries: number;
  cacheRules: number;
  features: TierFeatures;
  throttle: Record<ThrottleCategory, RateLimit>;
}

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

const NO_PREMIUM_FEATURES: TierFeatures = {
  anonymousPull: false,
  geoReplication: false,
  ipRules: false,
  privateLink: false,
  retentionPolicy: false,
  contentTrust: false,
  exportPolicy: false,
  dataEndpoint: false,
  regionalEndpoints: false,
  customerManagedKeys: false,
  connectedRegistries: false,
};

/** Basic and Standard share the request-rate limits (reference §10.2). */
const STANDARD_THROTTLE: Record<ThrottleCategory, RateLimit> = {
  read: { perRegistry: 10_000, perIdentity: 5_000 },
  write: { perRegistry: 2_000, perIdentity: 1_000 },
  delete: { perRegistry: 1_000, perIdentity: 500 },
  listReferrers: { perRegistry: 500, perIdentity: 250 },
};

/**
 * ACR's published figures (reference §1.1, 2026 limits table; §10.2 request rates). Limits that ACR raises
 * through support (storage, request rates) can be changed per installation with BERTH_TIER_OVERRIDES.
 */
export const SKU_CATALOG: Readonly<Record<SkuName, Tier>> = {
  Basic: {
    name: 'Basic',
    includedStorageBytes: 10 * GiB,
    storageLimitBytes: 40 * TiB,
    webhooks: 2,
    tokens: 100,
    scopeMaps: 100,
    actionsPerScopeMap: 500,
    ipRules: 0,
    vnetRules: 0,
    privateEndpoints: 0,
    replications: 0,
    connectedRegistries: 0,
    cacheRules: 1000,
    features: NO_PREMIUM_FEATURES,
    throttle: STANDARD_THROTTLE,
  },
  Standard: {
    name: 'Standard',
    includedStorageBytes: 100 * GiB,
    storageLimitBytes: 40 * TiB,
    webhooks: 10,
    tokens: 500,
    scopeMaps: 500,
    actionsPerScopeMap: 500,
    ipRules: 0,
    vnetRules: 0,
    privateEndpoints: 0,
    replications: 0,
    connectedRegistries: 0,
    cacheRules: 1000,
    features: { ...NO_PREMIUM_FEATURES, anonymousPull: true },
    throttle: STANDARD_THROTTLE,
  },
  Premium: {
    name: 'Premium',
    includedStorageBytes: 500 * GiB,
    storageLimitBytes: 100 * TiB,
    webhooks: 500,
    tokens: 50_000,
    scopeMaps: 50_000,
    actionsPerScopeMap: 500,
    ipRules: 200,
    vnetRules: 100,
    privateEndpoints: 200,
    // ACR documents no replica count limit (its usage API reports -1).
    replications: -1,
    connectedRegistries: 50,
    cacheRules: 1000,
    features: {
      anonymousPull: true,
      geoReplication: true,
      ipRules: true,
      privateLink: true,
      retentionPolicy: true,
      contentTrust: true,
      exportPolicy: true,
      dataEndpoint: true,
      regionalEndpoints: true,
      customerManagedKeys: true,
      connectedRegistries: true,
    },
    throttle: {
      read: { perRegistry: 20_000, perIdentity: 10_000 },
      write: { perRegistry: 4_000, perIdentity: 2_000 },
      delete: { perRegistry: 4_000, perIdentity: 2_000 },
      listReferrers: { perRegistry: 2_000, perIdentity: 1_000 },
    },
  },
};

export function isSkuName(value: unknown): value is SkuName {
  return typeof value === 'string' && (SKU_NAMES as readonly string[]).includes(value);
}

/** The catalog name for a case-insensitive `sku.name` as ARM accepts it (`premium` → `Premium`). */
export function skuNamed(value: unknown): SkuName | undefined {
  if (typeof value !== 'string') return undefined;
  return SKU_NAMES.find((n) => n.toLowerCase() === value.toLowerCase());
}
