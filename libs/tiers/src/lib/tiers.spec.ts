import {
  SKU_CATALOG,
  TierCatalog,
  TierOverridesError,
  decide,
  skuNamed,
  storageFits,
  throttleBuckets,
  throttleCategories,
  tierViolations,
  type RegistryUsage,
} from '../index';

const EMPTY: RegistryUsage = {
  storageBytes: 0,
  webhooks: 0,
  tokens: 0,
  scopeMaps: 0,
  replications: 0,
  ipRules: 0,
  anonymousPullEnabled: false,
  networkDefaultDeny: false,
  retentionPolicyEnabled: false,
  trustPolicyEnabled: false,
  exportPolicyDisabled: false,
  dataEndpointEnabled: false,
};

describe('SKU_CATALOG', () => {
  it('holds ACR figures', () => {
    expect(SKU_CATALOG.Basic.webhooks).toBe(2);
    expect(SKU_CATALOG.Standard.webhooks).toBe(10);
    expect(SKU_CATALOG.Premium.webhooks).toBe(500);
    expect(SKU_CATALOG.Basic.includedStorageBytes).toBe(10 * 1024 ** 3);
    expect(SKU_CATALOG.Premium.storageLimitBytes).toBe(100 * 1024 ** 4);
    expect(SKU_CATALOG.Premium.tokens).toBe(50_000);
    expect(SKU_CATALOG.Basic.features.anonymousPull).toBe(false);
    expect(SKU_CATALOG.Standard.features.anonymousPull).toBe(true);
    expect(SKU_CATALOG.Premium.throttle.read).toEqual({ perRegistry: 20_000, perIdentity: 10_000 });
    expect(SKU_CATALOG.Basic.throttle.listReferrers).toEqual({ perRegistry: 500, perIdentity: 250 });
  });

  it('names SKUs case-insensitively and refuses others', () => {
    expect(skuNamed('premium')).toBe('Premium');
    expect(skuNamed('Classic')).toBeUndefined();
    expect(skuNamed(3)).toBeUndefined();
  });
});

describe(TierCatalog.name, () => {
  it('applies overrides without touching the shared catalog', () => {
    const c = new TierCatalog(
      '{"Basic":{"webhooks":3,"throttle":{"read":{"perRegistry":5}},"features":{"anonymousPull":true}}}',
    );
    expect(c.tier('Basic').webhooks).toBe(3);
    expect(c.tier('Basic').throttle.read).toEqual({ perRegistry: 5, perIdentity: 5_000 });
    expect(c.tier('Basic').features.anonymousPull).toBe(true);
    expect(SKU_CATALOG.Basic.webhooks).toBe(2);
    expect(SKU_CATALOG.Basic.throttle.read.perRegistry).toBe(10_000);
    expect(new TierCatalog().tier('Premium')).toEqual(SKU_CATALOG.Premium);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'JSON object'],
    ['{"Classic":{}}', 'unknown SKU'],
    ['{"Basic":{"webhooks":"3"}}', 'Basic.webhooks'],
    ['{"Basic":{"webhooks":1.5}}', 'Basic.webhooks'],
    ['{"Basic":{"color":1}}', 'unknown field Basic.color'],
    ['{"Basic":{"throttle":{"oauth":{"perRegistry":1}}}}', 'Basic.throttle.oauth'],
    ['{"Basic":{"throttle":{"read":{"perRegistry":0}}}}', 'perRegistry must be'],
    ['{"Basic":{"features":{"flying":true}}}', 'unknown feature'],
  ])('refuses %s', (raw, message) => {
    expect(() => new TierCatalog(raw)).toThrow(TierOverridesError);
    expect(() => new TierCatalog(raw)).toThrow(message);
  });
});

describe(tierViolations.name, () => {
  it('lets an empty registry move anywhere', () => {
    for (const t of Object.values(SKU_CATALOG)) expect(tierViolations(t, EMPTY)).toEqual([]);
  });

  it('refuses a downgrade while Premium-only resources exist', () => {
    const v = tierViolations(SKU_CATALOG.Basic, {
      ...EMPTY,
      replications: 1,
      ipRules: 2,
      webhooks: 3,
      anonymousPullEnabled: true,
    });
    expect(v.map((x) => x.what)).toEqual([
      'replications',
      'webhooks',
      'networkRuleSet.ipRules',
      'anonymousPullEnabled',
    ]);
    expect(v[0]?.message).toContain('geo-replications');
  });

  it('allows Premium unlimited replications and checks storage', () => {
    expect(tierViolations(SKU_CATALOG.Premium, { ...EMPTY, replications: 40 })).toEqual([]);
    const tiny = new TierCatalog({ Standard: { storageLimitBytes: 10 } }).tier('Standard');
    expect(tierViolations(tiny, { ...EMPTY, storageBytes: 11 }).map((x) => x.what)).toEqual(['storage']);
  });
});

describe('throttle arithmetic', () => {
  it('categorises by method, referrers counting twice', () => {
    expect(throttleCategories('GET', false)).toEqual(['read']);
    expect(throttleCategories('head', false)).toEqual(['read']);
    expect(throttleCategories('GET', true)).toEqual(['read', 'listReferrers']);
    expect(throttleCategories('PATCH', false)).toEqual(['write']);
    expect(throttleCategories('POST', false)).toEqual(['write']);
    expect(throttleCategories('DELETE', false)).toEqual(['delete']);
  });

  it('builds per-registry and per-identity buckets', () => {
    expect(throttleBuckets(SKU_CATALOG.Basic, 'r1', ['read'])).toEqual([{ key: 'throttle:r1:read', limit: 10_000 }]);
    expect(throttleBuckets(SKU_CATALOG.Premium, 'r1', ['write'], 'admin:r1')).toEqual([
      { key: 'throttle:r1:write:id:admin:r1', limit: 2_000 },
    ]);
  });

  it('refuses over any bucket with the longest remaining window', () => {
    const a = { key: 'a', limit: 2 };
    const b = { key: 'b', limit: 5 };
    expect(decide([{ bucket: a, count: 2, resetsInSeconds: 30 }])).toEqual({ allowed: true });
    expect(
      decide([
        { bucket: a, count: 3, resetsInSeconds: 30 },
        { bucket: b, count: 9, resetsInSeconds: 45 },
      ]),
    ).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(decide([{ bucket: a, count: 3, resetsInSeconds: 0 }])).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('checks storage against the hard limit', () => {
    const t = new TierCatalog({ Basic: { storageLimitBytes: 100 } }).tier('Basic');
    expect(storageFits(t, 50, 50)).toBe(true);
    expect(storageFits(t, 50, 51)).toBe(false);
    expect(storageFits(new TierCatalog({ Basic: { storageLimitBytes: -1 } }).tier('Basic'), 1e15, 1e15)).toBe(true);
  });
});
