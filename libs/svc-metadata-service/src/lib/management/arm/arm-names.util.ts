import { badRequest } from './arm-error';

/** Path-parameter name rules (reference §4.2). */
export const NAME_RULES = {
  registry: { pattern: /^[a-zA-Z0-9]{5,50}$/, text: '5-50 letters and digits' },
  replication: { pattern: /^[a-zA-Z0-9]{5,50}$/, text: '5-50 letters and digits' },
  webhook: { pattern: /^[a-zA-Z0-9]{5,50}$/, text: '5-50 letters and digits' },
  scopeMap: { pattern: /^[a-zA-Z0-9_-]{5,50}$/, text: '5-50 letters, digits, hyphens and underscores' },
  token: { pattern: /^[a-zA-Z0-9-]{5,50}$/, text: '5-50 letters, digits and hyphens' },
  // ARM resource group names: 1-90 of letters, digits, underscores, parentheses, hyphens, periods; not ending in a period.
  resourceGroup: {
    pattern: /^[-\w._()]{0,89}[-\w_()]$/u,
    text: '1-90 letters, digits, underscores, parentheses, hyphens and periods, not ending in a period',
  },
} as const;

export type NamedKind = keyof typeof NAME_RULES;

/** Refuses a name that breaks its kind's rule with 400 InvalidResourceName. */
export function checkName(kind: NamedKind, name: string): string {
  const rule = NAME_RULES[kind];
  if (!rule.pattern.test(name)) {
    throw badRequest(
      'InvalidResourceName',
      `The ${kind} name '${name}' is invalid: it must have ${rule.text}.`,
      `${kind}Name`,
    );
  }
  return name;
}

const RP = 'Microsoft.ContainerRegistry';

export function resourceGroupId(sub: string, rg: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}`;
}

export function registryId(sub: string, rg: string, registry: string): string {
  return `${resourceGroupId(sub, rg)}/providers/${RP}/registries/${registry}`;
}

/** The ARM id of a registry's child resource (`replications`, `webhooks`, `scopeMaps`, `tokens`). */
export function childId(sub: string, rg: string, registry: string, collection: string, name: string): string {
  return `${registryId(sub, rg, registry)}/${collection}/${name}`;
}

/** Parses a registry child id back (e.g. a token's `scopeMapId`), case-insensitively. */
export function parseChildId(
  id: string,
  collection: string,
): { subscriptionId: string; resourceGroup: string; registry: string; name: string } | undefined {
  const m = new RegExp(
    `^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/${RP.replace('.', '\\.')}/registries/([^/]+)/${collection}/([^/]+)$`,
    'i',
  ).exec(id.trim());
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return { subscriptionId: m[1].toLowerCase(), resourceGroup: m[2], registry: m[3], name: m[4] };
}

/** Normalises an ARM location (`East US` → `eastus`). */
export function normaliseLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

/** systemData from row timestamps (Berth does not record who changed a resource). */
export function systemData(row: { created_at: Date | string; updated_at: Date | string }): Record<string, string> {
  return { createdAt: iso(row.created_at), lastModifiedAt: iso(row.updated_at) };
}

export function iso(d: Date | string): string {
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
