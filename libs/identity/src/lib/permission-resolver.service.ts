import { Inject, Injectable } from '@nestjs/common';
import {
  ALL_ACCESS,
  allowedForRoles,
  allowedForScopeMap,
  ANONYMOUS_ACCESS,
  anonymousPullApplies,
  armScopeCovers,
  armScopeSubscription,
  grantAccess,
  NOTHING_ALLOWED,
  rolesPermit,
  type AccessEntry,
  type AllowedAccess,
  type ControlPlaneOperation,
  type Subject,
} from '@berth/auth';
import { DATA_SOURCE } from '@berth/db';
import type { DataSource } from 'typeorm';
import type { RegistryIdRef } from './registry-facts';
import { RegistryDirectory } from './registry-directory.service';

/**
 * What a subject may do, from the facts in the database (role assignments, admin user, tokens and scope maps,
 * anonymous pull) evaluated by @berth/auth. Never crosses registries or tenants: a principal's role
 * assignments count only within its own tenant, admin users and tokens only on their own registry.
 */
@Injectable()
export class PermissionResolver {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly registries: RegistryDirectory,
  ) {}

  /** What `subject` may do on the registry's data plane (nothing when the registry is unknown). */
  async allowed(subject: Subject, ref: RegistryIdRef): Promise<AllowedAccess> {
    const registry = await this.registries.byId(ref.id);
    if (!registry) return NOTHING_ALLOWED;
    switch (subject.kind) {
      case 'admin':
        return subject.registryId === registry.id && registry.adminUserEnabled ? ALL_ACCESS : NOTHING_ALLOWED;
      case 'anonymous':
        return anonymousPullApplies(registry) ? ANONYMOUS_ACCESS : NOTHING_ALLOWED;
      case 'token': {
        if (subject.registryId !== registry.id) return NOTHING_ALLOWED;
        const [row] = (await this.ds.query(
          `SELECT m.actions FROM tokens t JOIN scope_maps m ON m.registry_id = t.registry_id AND m.id = t.scope_map_id
            WHERE t.id = $1 AND t.registry_id = $2 AND t.status = 'enabled'`,
          [subject.tokenId, registry.id],
        )) as Array<{ actions: string[] }>;
        return row ? allowedForScopeMap(row.actions) : NOTHING_ALLOWED;
      }
      case 'principal': {
        const roles = await this.rolesAt(subject.principalId, registry.armId, registry.tenantId);
        return allowedForRoles(roles);
      }
    }
  }

  /** The granted access: `requested ∩ allowed`, in the request's order. */
  async grant(subject: Subject, ref: RegistryIdRef, requested: readonly AccessEntry[]): Promise<AccessEntry[]> {
    if (requested.length === 0) return [];
    return grantAccess(requested, await this.allowed(subject, ref));
  }

  /**
   * Whether a principal may perform a control-plane operation at an ARM scope (a subscription, resource group
   * or resource id): Owner everything, Contributor all but role assignments, Reader read. The scope's
   * subscription must belong to the principal's tenant; a disabled or unknown principal may do nothing.
   */
  async principalMay(principalId: string, armScope: string, operation: ControlPlaneOperation): Promise<boolean> {
    const subscription = armScopeSubscription(armScope);
    if (!subscription) return false;
    const [sub] = (await this.ds.query(`SELECT tenant_id FROM subscriptions WHERE id = $1`, [subscription])) as Array<{ tenant_id: string }>;
    if (!sub) return false;
    return rolesPermit(await this.rolesAt(principalId, armScope, sub.tenant_id), operation);
  }

  /** The role definition ids of an enabled principal of `tenantId` assigned at `target` or above it. */
  private async rolesAt(principalId: string, target: string, tenantId: string): Promise<string[]> {
    if (!/^[0-9a-f-]{36}$/i.test(principalId)) return [];
    const subscription = armScopeSubscription(target);
    if (!subscription) return [];
    const rows = (await this.ds.query(
      `SELECT a.role_definition_id, a.scope FROM role_assignments a JOIN principals p ON p.id = a.principal_id
        WHERE a.principal_id = $1 AND p.enabled AND p.tenant_id = $2 AND lower(a.scope) LIKE $3`,
      [principalId, tenantId, `/subscriptions/${subscription}%`],
    )) as Array<{ role_definition_id: string; scope: string }>;
    return rows.filter((r) => armScopeCovers(r.scope, target)).map((r) => r.role_definition_id);
  }
}
