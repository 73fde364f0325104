import { REPOSITORY_ACTIONS, type AllowedAccess, type RepositoryAction } from './access';

/** Azure's built-in role definition ids (the same GUIDs in every tenant; acr.md §6.1). */
export const BUILT_IN_ROLES = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  AcrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  AcrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  AcrDelete: 'c2f4ef07-c644-48eb-af81-4b1b4947fb11',
  AcrImageSigner: '6cef56e8-d556-48e5-a04f-b8e64114680f',
  AcrQuarantineReader: 'cdda3590-29a3-44f6-95f2-9f980659eb04',
  AcrQuarantineWriter: 'c8d4ff99-41c3-41a8-9f60-21dfdad59608',
} as const;

export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;

const ROLE_BY_ID = new Map<string, BuiltInRoleName>(
  Object.entries(BUILT_IN_ROLES).map(([name, id]) => [id, name as BuiltInRoleName]),
);

/** The built-in role a role definition id names (case-insensitive), or undefined for any other id. */
export function builtInRoleName(roleDefinitionId: string): BuiltInRoleName | undefined {
  return ROLE_BY_ID.get(roleDefinitionId.toLowerCase());
}

/**
 * The data-plane rights of each built-in role in ACR's legacy permissions mode (acr.md §6.1): repository
 * actions on every repository of the registry, and catalog listing. Quarantine and signing roles grant no
 * plain repository action (their quarantine flags come with the quarantine feature).
 */
const DATA_PLANE: Record<BuiltInRoleName, { actions: readonly RepositoryAction[]; catalog: boolean }> = {
  Owner: { actions: REPOSITORY_ACTIONS, catalog: true },
  Contributor: { actions: REPOSITORY_ACTIONS, catalog: true },
  Reader: { actions: ['pull', 'metadata_read'], catalog: true },
  AcrPull: { actions: ['pull', 'metadata_read'], catalog: true },
  AcrPush: { actions: ['pull', 'push', 'metadata_read', 'metadata_write'], catalog: true },
  AcrDelete: { actions: ['delete', 'metadata_read'], catalog: false },
  AcrImageSigner: { actions: [], catalog: false },
  AcrQuarantineReader: { actions: [], catalog: false },
  AcrQuarantineWriter: { actions: [], catalog: false },
};

/** What a set of role assignments (their role definition ids) allows on a registry's data plane. */
export function allowedForRoles(roleDefinitionIds: readonly string[]): AllowedAccess {
  const actions = new Set<RepositoryAction>();
  let catalog = false;
  for (const id of roleDefinitionIds) {
    const role = builtInRoleName(id);
    if (!role) continue;
    DATA_PLANE[role].actions.forEach((a) => actions.add(a));
    catalog ||= DATA_PLANE[role].catalog;
  }
  const list = REPOSITORY_ACTIONS.filter((a) => actions.has(a));
  return { repositories: list.length ? [{ pattern: '*', actions: list }] : [], catalog };
}

/** Operations of the ARM control plane (the management API), as the management API asks about them. */
export type ControlPlaneOperation = 'read' | 'write' | 'delete' | 'roleAssignments';

/**
 * Whether the roles permit a control-plane operation: Owner everything; Contributor everything except
 * managing role assignments; Reader only reads. The Acr* data roles grant no control-plane operation.
 */
export function rolesPermit(roleDefinitionIds: readonly string[], operation: ControlPlaneOperation): boolean {
  return roleDefinitionIds.some((id) => {
    switch (builtInRoleName(id)) {
      case 'Owner':
        return true;
      case 'Contributor':
        return operation !== 'roleAssignments';
      case 'Reader':
        return operation === 'read';
      case 'AcrPull':
      case 'AcrPush':
      case 'AcrDelete':
      case 'AcrImageSigner':
      case 'AcrQuarantineReader':
      case 'AcrQuarantineWriter':
      case undefined:
        return false;
    }
  });
}

/** Everything on a registry: the admin user's rights. */
export const ALL_ACCESS: AllowedAccess = Object.freeze({
  repositories: [{ pattern: '*', actions: REPOSITORY_ACTIONS }],
  catalog: true,
});

/** Anonymous pull (when the registry allows it and its SKU is not Basic): pull and read metadata of every repository, and the catalog. */
export const ANONYMOUS_ACCESS: AllowedAccess = Object.freeze({
  repositories: [{ pattern: '*', actions: ['pull', 'metadata_read'] as RepositoryAction[] }],
  catalog: true,
});

/** Whether anonymous pull applies to a registry (ACR: Standard and Premium only). */
export function anonymousPullApplies(registry: { sku: string; anonymousPullEnabled: boolean }): boolean {
  return registry.anonymousPullEnabled && registry.sku !== 'Basic';
}
