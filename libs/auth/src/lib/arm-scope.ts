/**
 * ARM scopes (`/subscriptions/{id}`, `/subscriptions/{id}/resourceGroups/{rg}`, a resource id below) and
 * how role assignments apply to them: an assignment at a scope applies to that scope and everything below,
 * compared case-insensitively and on whole path segments.
 */

const SUBSCRIPTION_SCOPE = /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/|$)/i;

/** The scope normalised for comparison: lower case, no trailing slash. */
export function normaliseArmScope(scope: string): string {
  return scope.trim().replace(/\/+$/, '').toLowerCase();
}

/** Whether an assignment at `assignmentScope` applies to `target` (the same scope or one below it). */
export function armScopeCovers(assignmentScope: string, target: string): boolean {
  const a = normaliseArmScope(assignmentScope);
  const t = normaliseArmScope(target);
  if (!a.startsWith('/subscriptions/')) return false;
  return t === a || t.startsWith(`${a}/`);
}

/** The subscription id (lower case) an ARM scope lies in, or undefined when it is not under a subscription. */
export function armScopeSubscription(scope: string): string | undefined {
  return SUBSCRIPTION_SCOPE.exec(scope.trim())?.[1]?.toLowerCase();
}

/** The ARM id of a registry. */
export function registryArmId(subscriptionId: string, resourceGroup: string, registryName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registryName}`;
}
