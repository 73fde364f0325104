import { grantAccess, parseScopes, REPOSITORY_ACTIONS } from './access';
import { armScopeCovers, armScopeSubscription, registryArmId } from './arm-scope';
import {
  ALL_ACCESS,
  allowedForRoles,
  ANONYMOUS_ACCESS,
  anonymousPullApplies,
  BUILT_IN_ROLES,
  builtInRoleName,
  rolesPermit,
} from './roles';
import { allowedForScopeMap, parseScopeMapAction } from './scope-map';
import { NULL_GUID_USERNAME, parseSubjectId, subjectId } from './subject';

const everything = parseScopes(['repository:app:pull,push,delete,metadata_read,metadata_write', 'registry:catalog:*']);
const granted = (allowed: Parameters<typeof grantAccess>[1]) => grantAccess(everything, allowed);

describe('built-in roles on the data plane (legacy mode)', () => {
  it.each([
    ['Owner', [...REPOSITORY_ACTIONS], true],
    ['Contributor', [...REPOSITORY_ACTIONS], true],
    ['Reader', ['pull', 'metadata_read'], true],
    ['AcrPull', ['pull', 'metadata_read'], true],
    ['AcrPush', ['pull', 'push', 'metadata_read', 'metadata_write'], true],
    ['AcrDelete', ['delete', 'metadata_read'], false],
    ['AcrImageSigner', [], false],
    ['AcrQuarantineReader', [], false],
    ['AcrQuarantineWriter', [], false],
  ] as const)('%s grants %j, catalog %s', (role, actions, catalog) => {
    const result = granted(allowedForRoles([BUILT_IN_ROLES[role]]));
    const repo = result.find((e) => e.type === 'repository');
    expect(repo?.actions ?? []).toEqual(actions);
    expect(result.some((e) => e.type === 'registry')).toBe(catalog);
  });

  it('unions several roles, matches ids case-insensitively and ignores unknown roles', () => {
    const allowed = allowedForRoles([BUILT_IN_ROLES.AcrDelete, BUILT_IN_ROLES.AcrPull.toUpperCase(), '11111111-1111-1111-1111-111111111111']);
    expect(granted(allowed)[0]?.actions).toEqual(['pull', 'delete', 'metadata_read']);
    expect(allowedForRoles(['11111111-1111-1111-1111-111111111111'])).toEqual({ repositories: [], catalog: false });
    expect(builtInRoleName(BUILT_IN_ROLES.Owner.toUpperCase())).toBe('Owner');
  });
});

describe('control plane', () => {
  it('Owner may do everything, Contributor all but role assignments, Reader only read, data roles nothing', () => {
    const may = (role: keyof typeof BUILT_IN_ROLES) =>
      (['read', 'write', 'delete', 'roleAssignments'] as const).filter((op) => rolesPermit([BUILT_IN_ROLES[role]], op));
    expect(may('Owner')).toEqual(['read', 'write', 'delete', 'roleAssignments']);
    expect(may('Contributor')).toEqual(['read', 'write', 'delete']);
    expect(may('Reader')).toEqual(['read']);
    expect(may('AcrPush')).toEqual([]);
    expect(rolesPermit([], 'read')).toBe(false);
  });
});

describe('admin user and anonymous pull', () => {
  it('the admin user gets everything, anonymous pull and metadata read plus the catalog', () => {
    expect(granted(ALL_ACCESS)).toEqual(everything);
    expect(granted(ANONYMOUS_ACCESS)).toEqual([
      { type: 'repository', name: 'app', actions: ['pull', 'metadata_read'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('anonymous pull applies only when enabled and never on Basic', () => {
    expect(anonymousPullApplies({ sku: 'Standard', anonymousPullEnabled: true })).toBe(true);
    expect(anonymousPullApplies({ sku: 'Premium', anonymousPullEnabled: true })).toBe(true);
    expect(anonymousPullApplies({ sku: 'Basic', anonymousPullEnabled: true })).toBe(false);
    expect(anonymousPullApplies({ sku: 'Premium', anonymousPullEnabled: false })).toBe(false);
  });
});

describe('scope maps', () => {
  it('parses ACR scope-map actions', () => {
    expect(parseScopeMapAction('repositories/app/content/read')).toEqual({ pattern: 'app', action: 'pull' });
    expect(parseScopeMapAction('repositories/team/*/content/write')).toEqual({ pattern: 'team/*', action: 'push' });
    expect(parseScopeMapAction('repositories/*/content/delete')).toEqual({ pattern: '*', action: 'delete' });
    expect(parseScopeMapAction('repositories/a/b/metadata/read')).toEqual({ pattern: 'a/b', action: 'metadata_read' });
    expect(parseScopeMapAction('repositories/a/metadata/write')).toEqual({ pattern: 'a', action: 'metadata_write' });
  });

  it.each(['gateway/cr/config/read', 'repositories/a/contentWrite', 'repositories/a*/content/read', 'repositories/*/x/content/read', 'repositories//content/read', 'nonsense'])(
    'grants nothing for %j',
    (action) => {
      expect(parseScopeMapAction(action)).toBeUndefined();
    },
  );

  it('gives a token exactly its scope map, additively, and never the catalog', () => {
    const allowed = allowedForScopeMap([
      'repositories/app/content/read',
      'repositories/app/metadata/read',
      'repositories/team/*/content/write',
      'gateway/x/config/read',
    ]);
    const requested = parseScopes('repository:app:pull,push repository:team/lib:push,pull registry:catalog:* repository:other:pull');
    expect(grantAccess(requested, allowed)).toEqual([
      { type: 'repository', name: 'app', actions: ['pull'] },
      { type: 'repository', name: 'team/lib', actions: ['push'] },
    ]);
  });
});

describe('ARM scopes', () => {
  const sub = '00000000-0000-4000-8000-000000000001';
  const registry = registryArmId(sub, 'berth', 'myregistry');

  it('an assignment covers its scope and everything below, case-insensitively, on whole segments', () => {
    expect(armScopeCovers(`/subscriptions/${sub}`, registry)).toBe(true);
    expect(armScopeCovers(`/subscriptions/${sub}/resourcegroups/BERTH`, registry)).toBe(true);
    expect(armScopeCovers(registry.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'), registry)).toBe(true);
    expect(armScopeCovers(`${registry}/`, registry)).toBe(true);
    expect(armScopeCovers(`/subscriptions/${sub}/resourceGroups/ber`, registry)).toBe(false);
    expect(armScopeCovers(`${registry}2`, registry)).toBe(false);
    expect(armScopeCovers(registry, `/subscriptions/${sub}`)).toBe(false);
    expect(armScopeCovers('/', registry)).toBe(false);
    expect(armScopeCovers(`/subscriptions/00000000-0000-4000-8000-000000000002`, registry)).toBe(false);
  });

  it('reads the subscription of a scope', () => {
    expect(armScopeSubscription(registry)).toBe(sub);
    expect(armScopeSubscription(`/subscriptions/${sub.toUpperCase()}`)).toBe(sub);
    expect(armScopeSubscription('/providers/x')).toBeUndefined();
    expect(armScopeSubscription('/subscriptions/not-a-guid')).toBeUndefined();
  });
});

describe('subjects', () => {
  it('round-trips subject ids and refuses foreign ones', () => {
    const id = '0b6f2c9e-2f0a-4c47-9d3c-4a0c1f0e5b11';
    expect(subjectId({ kind: 'principal', principalId: id, tenantId: id })).toBe(`principal:${id}`);
    expect(parseSubjectId(`admin:${id}`)).toEqual({ kind: 'admin', id });
    expect(parseSubjectId(`token:${id}`)).toEqual({ kind: 'token', id });
    expect(parseSubjectId('anonymous')).toEqual({ kind: 'anonymous' });
    expect(parseSubjectId(`root:${id}`)).toBeUndefined();
    expect(parseSubjectId(`principal:${id}x`)).toBeUndefined();
    expect(NULL_GUID_USERNAME).toBe('00000000-0000-0000-0000-000000000000');
  });
});
