/** The parts of a webhook that decide whether an event reaches it. */
export interface WebhookRule {
  readonly status: string;
  readonly actions: readonly string[];
  readonly scope: string;
  readonly location: string;
}

/** The parts of a registry event that webhooks match on. */
export interface MatchableEvent {
  readonly action: string;
  readonly repository: string;
  /** Absent for events without a tag (delete, push by digest). */
  readonly tag?: string;
  /** The region that raised the event; absent = the registry's home region. */
  readonly region?: string;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * ACR scope semantics (acr.md §4.7): empty = every event; `foo:*` = every tag of `foo`; `foo:bar` = that tag only;
 * `foo` = `foo:latest`. `*` is a wildcard anywhere in the repository or tag part (`team/*:v*`). An event without a
 * tag (a delete, a push by digest) matches only a tag pattern of `*`.
 */
export function scopeMatches(scope: string, repository: string, tag?: string): boolean {
  const trimmed = scope.trim();
  if (trimmed === '') return true;
  const colon = trimmed.indexOf(':');
  const repoPattern = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const tagPattern = colon < 0 ? 'latest' : trimmed.slice(colon + 1) || 'latest';
  if (!globToRegExp(repoPattern).test(repository)) return false;
  if (tag === undefined || tag === '') return tagPattern === '*';
  return globToRegExp(tagPattern).test(tag);
}

/**
 * Whether `event` is delivered to `webhook`: enabled, the action subscribed, the scope matching, and the location:
 * webhooks are per region (acr.md §5.1), so an event goes to webhooks located in the region that raised it; a
 * webhook with no location takes the home region's events. Events carry no region yet: they are the home region's.
 */
export function webhookMatches(webhook: WebhookRule, event: MatchableEvent, registryLocation: string): boolean {
  if (webhook.status !== 'enabled') return false;
  if (!webhook.actions.includes(event.action)) return false;
  const eventRegion = (event.region ?? registryLocation).toLowerCase();
  const location = webhook.location.trim().toLowerCase();
  if (location === '') {
    if (eventRegion !== registryLocation.toLowerCase()) return false;
  } else if (location !== eventRegion) {
    return false;
  }
  return scopeMatches(webhook.scope, event.repository, event.tag);
}
