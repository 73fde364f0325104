import type { ThrottleCategory, Tier } from './sku-catalog';

/** ACR's limits are per minute (reference §10.2). */
export const THROTTLE_WINDOW_SECONDS = 60;

/** The message ACR's clients show for a 429 (reference §10.3). */
export const THROTTLE_MESSAGE =
  'Too many requests. Please visit https://aka.ms/acr/skus#sku-feature-matrix to view limits of all service tiers.';

/**
 * The categories one data-plane request counts against (reference §10.1): by method, and a referrers listing
 * counts as ListReferrers and as a read. Returns [] for requests that are not counted (none today).
 */
export function throttleCategories(method: string, isReferrers: boolean): ThrottleCategory[] {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
      return isReferrers ? ['read', 'listReferrers'] : ['read'];
    case 'DELETE':
      return ['delete'];
    default:
      return ['write'];
  }
}

/** One counter a request must fit in. */
export interface ThrottleBucket {
  key: string;
  limit: number;
}

/**
 * The buckets a request is counted in: per registry, and per identity within the registry when `identityKey`
 * is given (anonymous requests share one identity, and so do both admin passwords: the caller passes the
 * subject, not the credential). Keys are opaque strings for a fixed-window counter store.
 */
export function throttleBuckets(
  tier: Tier,
  registryId: string,
  categories: readonly ThrottleCategory[],
  identityKey?: string,
): ThrottleBucket[] {
  const out: ThrottleBucket[] = [];
  for (const category of categories) {
    const limit = tier.throttle[category];
    if (identityKey === undefined) out.push({ key: `throttle:${registryId}:${category}`, limit: limit.perRegistry });
    else out.push({ key: `throttle:${registryId}:${category}:id:${identityKey}`, limit: limit.perIdentity });
  }
  return out;
}

/** The outcome of counting one request: allowed, or refused with the seconds until its window ends. */
export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Decides from the counts after incrementing each bucket: refused when any bucket went over its limit, with
 * Retry-After = the longest remaining window among the exceeded buckets (it counts down to the window's end,
 * as ACR's does), at least 1.
 */
export function decide(
  counts: ReadonlyArray<{ bucket: ThrottleBucket; count: number; resetsInSeconds: number }>,
): ThrottleDecision {
  let retry = 0;
  for (const c of counts) {
    if (c.count > c.bucket.limit) retry = Math.max(retry, c.resetsInSeconds, 1);
  }
  return retry > 0 ? { allowed: false, retryAfterSeconds: retry } : { allowed: true };
}

/** Whether adding `addBytes` keeps the registry within the tier's storage limit (-1 = unlimited). */
export function storageFits(tier: Tier, usedBytes: number, addBytes: number): boolean {
  return tier.storageLimitBytes < 0 || usedBytes + Math.max(0, addBytes) <= tier.storageLimitBytes;
}
