import { Injectable } from '@nestjs/common';
import { TenantTransaction } from '@forecourt/database';
import type { ActiveSupportGrant, MembershipScope } from './ability';
import { isRole, type PlatformRole } from './role-matrix';

export interface TenantAccess {
  exists: boolean;
  membership: MembershipScope | null;
  supportGrant: ActiveSupportGrant | null;
  marketingSeesPii: boolean;
}

/** What a person may hold in a tenant, as the access guard and the explain endpoint read it. */
@Injectable()
export class TenantAccessLookup {
  constructor(private readonly transactions: TenantTransaction) {}

  /**
   * In one round trip: whether the tenant exists (and is not deleted), the caller's active
   * membership in it, the caller's active, unexpired support grant there, and the tenant's policy
   * on marketing seeing personal data (`settings.marketingSeesPii`, default false).
   */
  async lookup(tenantId: string, userId: string): Promise<TenantAccess> {
    const { rows } = await this.transactions.statement<{
      exists: boolean;
      role: string | null;
      all_stores: boolean | null;
      store_ids: string[] | null;
      grant_id: string | null;
      grant_scope: string | null;
      marketing_sees_pii: boolean | null;
    }>(
      { tenantId, stores: [], userId },
      `select t.id is not null as exists, m.role, m.all_stores, m.store_ids, g.id as grant_id, g.scope as grant_scope,
              (t.settings ->> 'marketingSeesPii')::boolean as marketing_sees_pii
         from (select 1) as one
         left join tenants t on t.id = $1 and t.status <> 'deleted'
         left join memberships m on t.id is not null and m.tenant_id = $1 and m.user_id = $2 and m.status = 'active'
         left join lateral (
           select id, scope from support_grants
            where t.id is not null and tenant_id = $1 and requester_id = $2 and status = 'active' and expires_at > now()
            order by approved_at desc limit 1) g on true`,
      [tenantId, userId],
    );
    const row = rows[0]!;
    const membership =
      row.role !== null && isRole(row.role)
        ? { tenantId, role: row.role, allStores: row.all_stores ?? false, storeIds: row.store_ids ?? [] }
        : null;
    const scope = row.grant_scope;
    const supportGrant: ActiveSupportGrant | null =
      row.grant_id && (scope === 'read' || scope === 'support')
        ? { id: row.grant_id, tenantId, scope }
        : null;
    return {
      exists: row.exists,
      membership,
      supportGrant,
      marketingSeesPii: row.marketing_sees_pii === true,
    };
  }

  /** A person's platform role (only the role: the tenant cannot read platform staff's accounts). */
  async platformRoleOf(tenantId: string, userId: string): Promise<PlatformRole | null> {
    const { rows } = await this.transactions.statement<{ role: string | null }>(
      { tenantId, stores: [] },
      'select app.platform_role_of($1) as role',
      [userId],
    );
    const role = rows[0]?.role;
    return role === 'platform_owner' || role === 'platform_support' ? role : null;
  }
}
