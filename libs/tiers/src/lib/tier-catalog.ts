import {
  SKU_CATALOG,
  SKU_NAMES,
  THROTTLE_CATEGORIES,
  isSkuName,
  type SkuName,
  type Tier,
  type TierFeatures,
} from './sku-catalog';

/** A setting that could not be applied: names the path inside the JSON, never echoes secrets (there are none). */
export class TierOverridesError extends Error {
  constructor(readonly problems: string[]) {
    super(`BERTH_TIER_OVERRIDES: ${problems.join('; ')}`);
    this.name = 'TierOverridesError';
  }
}

const COUNT_FIELDS = [
  'includedStorageBytes',
  'storageLimitBytes',
  'webhooks',
  'tokens',
  'scopeMaps',
  'actionsPerScopeMap',
  'ipRules',
  'vnetRules',
  'privateEndpoints',
  'replications',
  'connectedRegistries',
  'cacheRules',
] as const satisfies ReadonlyArray<keyof Tier>;

/**
 * The tiers of one installation: ACR's catalog, with the figures an operator (or a test) overrides through
 * BERTH_TIER_OVERRIDES, a JSON object keyed by SKU name, e.g.
 * `{"Basic":{"storageLimitBytes":1048576,"webhooks":3,"throttle":{"read":{"perRegistry":5,"perIdentity":5}}}}`.
 * Every field is optional; unknown SKUs, fields and non-integer values are refused at start-up.
 */
export class TierCatalog {
  private readonly tiers: Readonly<Record<SkuName, Tier>>;

  constructor(overrides?: string | Record<string, unknown>) {
    this.tiers = applyOverrides(parseOverrides(overrides));
  }

  tier(name: SkuName): Tier {
    return this.tiers[name];
  }

  all(): Tier[] {
    return SKU_NAMES.map((n) => this.tiers[n]);
  }
}

function parseOverrides(raw: string | Record<string, unknown> | undefined): Record<string, unknown> {
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'string') return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TierOverridesError(['not valid JSON']);
  }
  if (!isObject(parsed)) throw new TierOverridesError(['must be a JSON object keyed by SKU name']);
  return parsed;
}

function applyOverrides(overrides: Record<string, unknown>): Record<SkuName, Tier> {
  const problems: string[] = [];
  const out = structuredClone(SKU_CATALOG) as Record<SkuName, Tier>;
  for (const [sku, value] of Object.entries(overrides)) {
    if (!isSkuName(sku)) {
      problems.push(`unknown SKU ${JSON.stringify(sku)} (one of ${SKU_NAMES.join(', ')})`);
      continue;
    }
    if (!isObject(value)) {
      problems.push(`${sku} must be an object`);
      continue;
    }
    const tier = out[sku];
    for (const [field, v] of Object.entries(value)) {
      const path = `${sku}.${field}`;
      if ((COUNT_FIELDS as readonly string[]).includes(field)) {
        if (!isLimit(v)) problems.push(`${path} must be an integer >= -1`);
        else (tier as unknown as Record<string, number>)[field] = v;
      } else if (field === 'features') {
        if (!isObject(v)) {
          problems.push(`${path} must be an object`);
          continue;
        }
        for (const [f, on] of Object.entries(v)) {
          if (!(f in tier.features)) problems.push(`unknown feature ${path}.${f}`);
          else if (typeof on !== 'boolean') problems.push(`${path}.${f} must be true or false`);
          else tier.features = { ...tier.features, [f as keyof TierFeatures]: on };
        }
      } else if (field === 'throttle') {
        if (!isObject(v)) {
          problems.push(`${path} must be an object`);
          continue;
        }
        for (const [category, limit] of Object.entries(v)) {
          if (!(THROTTLE_CATEGORIES as readonly string[]).includes(category) || !isObject(limit)) {
            problems.push(`${path}.${category} must be one of ${THROTTLE_CATEGORIES.join(', ')} with an object value`);
            continue;
          }
          const current = tier.throttle[category as keyof Tier['throttle']];
          const next = { ...current };
          for (const [scope, n] of Object.entries(limit)) {
            if (scope !== 'perRegistry' && scope !== 'perIdentity')
              problems.push(`unknown field ${path}.${category}.${scope}`);
            else if (!isLimit(n) || n < 1) problems.push(`${path}.${category}.${scope} must be an integer >= 1`);
            else next[scope] = n;
          }
          tier.throttle = { ...tier.throttle, [category]: next };
        }
      } else {
        problems.push(`unknown field ${path}`);
      }
    }
  }
  if (problems.length) throw new TierOverridesError(problems);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isLimit(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;
}
