import type { AccessEntry } from './access';

/** Token lifetimes (constants by design, not settings). */
export const TOKEN_LIFETIME_SEC = {
  /** Registry access token (`/oauth2/token`). */
  registryAccess: 10 * 60,
  /** Registry refresh token (`/oauth2/exchange`, password grant); ACR documents 3 hours. */
  registryRefresh: 3 * 60 * 60,
  /** Identity access token (`/{tenant}/oauth2/v2.0/token`), as Entra's default. */
  identityAccess: 60 * 60,
} as const;

/** Clock skew accepted on `exp`/`nbf`/`iat` between Berth's processes and their clients. */
export const CLOCK_TOLERANCE_SEC = 30;

/** The `berth_kind` claim: which of Berth's three token kinds a JWT is; a token of one kind never passes as another. */
export type TokenKind = 'identity' | 'registry_refresh' | 'registry_access';

/** Audiences (resources) other than the public URL that identity tokens may be issued for. */
export const MANAGEMENT_AUDIENCE = 'https://management.azure.com';
export const CONTAINER_REGISTRY_AUDIENCE = 'https://containerregistry.azure.net';

interface TimeClaims {
  iat: number;
  nbf: number;
  exp: number;
}

/** An Entra-shaped v2.0 app/user access token from the identity endpoint. */
export interface IdentityTokenClaims extends TimeClaims {
  iss: string;
  aud: string;
  sub: string;
  oid: string;
  tid: string;
  appid: string;
  azp: string;
  idtyp: 'app' | 'user';
  ver: '2.0';
  uti: string;
  berth_kind: 'identity';
}

interface RegistryTokenClaims extends TimeClaims {
  iss: string;
  aud: string;
  sub: string;
  jti: string;
  version: '1.0';
  tenant: string;
  rid: string;
  roles: string[];
}

/** An ACR-shaped registry refresh token (acr.md §2.7), bound to one registry. */
export interface RegistryRefreshClaims extends RegistryTokenClaims {
  grant_type: 'refresh_token';
  berth_kind: 'registry_refresh';
  permissions: { actions: string[]; notActions: string[] };
}

/** An ACR-shaped registry access token: the granted access on one registry. */
export interface RegistryAccessClaims extends RegistryTokenClaims {
  grant_type: 'access_token';
  berth_kind: 'registry_access';
  access: AccessEntry[];
}

/** The issuer of identity tokens for a tenant (what the OpenID configuration announces). */
export function identityIssuer(publicUrl: string, tenantId: string): string {
  return `${trimSlash(publicUrl)}/${tenantId}/v2.0`;
}

/** The issuer of registry tokens. */
export function registryIssuer(publicUrl: string): string {
  return trimSlash(publicUrl);
}

/**
 * The audiences identity tokens may be issued for: the public URL (with and without a trailing slash), ARM's
 * and ACR's Entra audiences (also with a trailing slash, as SDKs build scopes both ways).
 */
export function identityAudiences(publicUrl: string): string[] {
  return withSlashVariants([trimSlash(publicUrl), MANAGEMENT_AUDIENCE, CONTAINER_REGISTRY_AUDIENCE]);
}

/** The audiences the management API accepts: the public URL and ARM's. */
export function managementAudiences(publicUrl: string): string[] {
  return withSlashVariants([trimSlash(publicUrl), MANAGEMENT_AUDIENCE]);
}

/**
 * The resource of an OAuth2 v2.0 scope `<resource>/.default`, or undefined when the scope is not a single
 * `.default` scope (Berth issues app tokens only). `https://x//.default` (an SDK quirk) gives `https://x/`.
 */
export function resourceOfScope(scope: string): string | undefined {
  const parts = scope.split(' ').filter(Boolean);
  if (parts.length !== 1) return undefined;
  const s = parts[0] ?? '';
  if (!s.endsWith('/.default')) return undefined;
  const resource = s.slice(0, -'/.default'.length);
  return /^https?:\/\/[^\s/]+(\/\S*)?$/.test(resource) ? resource : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function withSlashVariants(list: string[]): string[] {
  return list.flatMap((u) => [u, `${u}/`]);
}

/** Seconds since the epoch (the unit of JWT time claims). */
export function epochSeconds(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}

/** iat/nbf/exp for a token issued at `now` living `lifetimeSec`. */
export function timeClaims(now: Date, lifetimeSec: number): TimeClaims {
  const iat = epochSeconds(now);
  return { iat, nbf: iat, exp: iat + lifetimeSec };
}
