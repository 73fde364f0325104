import type { Tier } from './sku-catalog';

/** What a registry uses now, as far as a tier change is concerned. */
export interface RegistryUsage {
  storageBytes: number;
  webhooks: number;
  tokens: number;
  scopeMaps: number;
  replications: number;
  ipRules: number;
  anonymousPullEnabled: boolean;
  /** `networkRuleSet.defaultAction` is Deny (a firewall is configured). */
  networkDefaultDeny: boolean;
  retentionPolicyEnabled: boolean;
  trustPolicyEnabled: boolean;
  /** `policies.exportPolicy.status` is disabled (exfiltration control on). */
  exportPolicyDisabled: boolean;
  dataEndpointEnabled: boolean;
}

/** One reason a registry cannot be moved to, or configured on, a tier. */
export interface TierViolation {
  /** The resource or property in the way, e.g. `replications`, `anonymousPullEnabled`. */
  what: string;
  message: string;
}

/**
 * Whether a registry with `usage` fits `target`: every count within the tier's limit (-1 = unlimited) and no
 * setting the tier does not offer. Used for SKU changes (ACR: moving down from Premium needs geo-replications
 * deleted first; storage must fit) and for property updates on the current tier. An empty list means it fits.
 */
export function tierViolations(target: Tier, usage: RegistryUsage): TierViolation[] {
  const out: TierViolation[] = [];
  const over = (what: string, used: number, limit: number, noun: string): void => {
    if (limit >= 0 && used > limit) {
      out.push({
        what,
        message:
          limit === 0
            ? `The ${target.name} tier does not support ${noun}; delete the registry's ${used} ${noun} first.`
            : `The ${target.name} tier allows at most ${limit} ${noun}; the registry has ${used}.`,
      });
    }
  };
  over(
    'replications',
    usage.replications,
    target.features.geoReplication ? target.replications : 0,
    'geo-replications',
  );
  over('webhooks', usage.webhooks, target.webhooks, 'webhooks');
  over('tokens', usage.tokens, target.tokens, 'tokens');
  over('scopeMaps', usage.scopeMaps, target.scopeMaps, 'scope maps');
  over('networkRuleSet.ipRules', usage.ipRules, target.features.ipRules ? target.ipRules : 0, 'IP rules');
  if (target.storageLimitBytes >= 0 && usage.storageBytes > target.storageLimitBytes) {
    out.push({
      what: 'storage',
      message: `The registry stores ${usage.storageBytes} bytes, more than the ${target.name} tier's limit of ${target.storageLimitBytes} bytes.`,
    });
  }
  const feature = (on: boolean, allowed: boolean, what: string, label: string): void => {
    if (on && !allowed) out.push({ what, message: `${label} is not supported on the ${target.name} tier.` });
  };
  feature(usage.anonymousPullEnabled, target.features.anonymousPull, 'anonymousPullEnabled', 'Anonymous pull');
  feature(usage.networkDefaultDeny, target.features.ipRules, 'networkRuleSet', 'A network rule set');
  feature(
    usage.retentionPolicyEnabled,
    target.features.retentionPolicy,
    'policies.retentionPolicy',
    'The retention policy',
  );
  feature(usage.trustPolicyEnabled, target.features.contentTrust, 'policies.trustPolicy', 'Content trust');
  feature(usage.exportPolicyDisabled, target.features.exportPolicy, 'policies.exportPolicy', 'Disabling export');
  feature(usage.dataEndpointEnabled, target.features.dataEndpoint, 'dataEndpointEnabled', 'A dedicated data endpoint');
  return out;
}
