import { RegistryError } from '@berth/oci';
import { challengeScope, type RequiredAccess } from './required-access.util';

export type ChallengeError = 'invalid_token' | 'insufficient_scope';

/**
 * The 401 ACR answers when a request lacks (valid or sufficient) credentials: a Bearer challenge naming the
 * token realm on the login server, the registry's login server as `service`, and the scope the request needs
 * (`GET /v2/` names none), with the detail listing the access asked for.
 */
export function authChallenge(
  args: { realm: string; service: string; required: RequiredAccess; error?: ChallengeError },
  message = 'authentication required',
): RegistryError {
  const scope = challengeScope(args.required);
  const parts = [`realm="${args.realm}"`, `service="${args.service}"`];
  if (scope) parts.push(`scope="${scope}"`);
  if (args.error) parts.push(`error="${args.error}"`);
  return new RegistryError('UNAUTHORIZED', message, accessDetail(args.required), 401, {
    'WWW-Authenticate': `Bearer ${parts.join(',')}`,
  });
}

/** ACR's error detail: the access the request needed, as `[{Type, Name, Action}]`. */
export function accessDetail(required: RequiredAccess): unknown {
  switch (required.kind) {
    case 'authenticated':
      return null;
    case 'catalog':
      return [{ Type: 'registry', Name: 'catalog', Action: '*' }];
    case 'repository':
      return [{ Type: 'repository', Name: required.name, Action: required.action }];
  }
}

/** The token realm on the host the client used (so a client reaching Berth through any name stays on it). */
export function tokenRealm(scheme: string, hostHeader: string | undefined, fallbackHost: string): string {
  const host = hostHeader && /^[A-Za-z0-9.\-:[\]]+$/.test(hostHeader) ? hostHeader : fallbackHost;
  return `${scheme}://${host}/oauth2/token`;
}
