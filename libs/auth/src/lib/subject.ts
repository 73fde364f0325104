/**
 * Who a credential is. The string form (`subjectId`) is the `sub` claim of registry tokens.
 * - `principal:<uuid>`: a user or service principal.
 * - `admin:<registryId>`: a registry's admin user.
 * - `token:<tokenId>`: a repository-scoped token.
 * - `anonymous`: no credentials (only where anonymous pull applies).
 */
export type Subject =
  | { kind: 'principal'; principalId: string; tenantId: string }
  | { kind: 'admin'; registryId: string }
  | { kind: 'token'; tokenId: string; registryId: string }
  | { kind: 'anonymous' };

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const SUBJECT_ID = new RegExp(`^(principal|admin|token):(${UUID})$`);

/** The `sub` claim for a subject. */
export function subjectId(subject: Subject): string {
  switch (subject.kind) {
    case 'principal':
      return `principal:${subject.principalId}`;
    case 'admin':
      return `admin:${subject.registryId}`;
    case 'token':
      return `token:${subject.tokenId}`;
    case 'anonymous':
      return 'anonymous';
  }
}

/** The kind and id a `sub` claim names, or undefined when it is not one Berth issues. */
export function parseSubjectId(sub: string): { kind: 'principal' | 'admin' | 'token'; id: string } | { kind: 'anonymous' } | undefined {
  if (sub === 'anonymous') return { kind: 'anonymous' };
  const m = SUBJECT_ID.exec(sub);
  if (!m?.[1] || !m[2]) return undefined;
  return { kind: m[1] as 'principal' | 'admin' | 'token', id: m[2] };
}

/** The Basic username that presents a registry refresh token as the password (docker login after `az acr login`). */
export const NULL_GUID_USERNAME = '00000000-0000-0000-0000-000000000000';
