import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Clock } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import type { ActiveSupportGrant, MembershipScope } from './ability';
import { isRole, type PlatformRole } from './role-matrix';

export interface TenantAccess {
  exists: boolean;
  membership: MembershipScope | null;
  supportGrant: ActiveSupportGrant | null;
  marketingSeesPii: boolean;
  /** When the support grant runs out (ms since the epoch); null without one. */
  grantExpiresAt: number | null;
  /**
   * From when the tenant is read-only (ms since the epoch): its subscription fell behind on
   * payment and the grace window (`BILLING_GRACE_DAYS`) ends then. Null while it is not behind.
   */
  readOnlyFrom: number | null;
  /**
   * From when the tenant is read-only because it was cancelled (ms since the epoch): the end of
   * the period it paid for, when its grace begins. Null unless cancelled.
   */
  graceFrom: number | null;
  /** When a cancelled tenant's grace ends and its deletion is due (ms since the epoch). */
  deleteAfter: number | null;
}

/** Kept in memory at most this long, whatever the version says (a bound, not the mechanism). */
const CACHE_TTL_MS = 30_000;
const CACHE_LIMIT = 10_000;

/** What a person may hold in a tenant, as the access guard and the explain endpoint read it. */
@Injectable()
export class TenantAccessLookup {
  private readonly cache = new Map<string, { access: TenantAccess; until: number }>();

  constructor(
    private readonly transactions: TenantTransaction,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * {@link lookup}, remembered per (person, tenant, permissions version). The version comes with
   * the session on every request and moves with any change of the person's memberships or grants
   * (and of the tenant's status or settings), so a remembered answer is never used after such a
   * change; a grant's expiry ends it too.
   */
  async current(
    tenantId: string,
    userId: string,
    permissionsVersion: string | undefined,
  ): Promise<TenantAccess> {
    if (permissionsVersion === undefined) return this.lookup(tenantId, userId);
    const key = `${userId}:${tenantId}:${permissionsVersion}`;
    const now = this.clock.now().getTime();
    const known = this.cache.get(key);
    if (known && known.until > now) return known.access;
    const access = await this.lookup(tenantId, userId);
    // Remembered no longer than until a grant runs out or the tenant turns read-only.
    const turns = [access.grantExpiresAt, access.readOnlyFrom, access.graceFrom].filter(
      (at): at is number => at !== null && at > now,
    );
    const until = Math.min(now + CACHE_TTL_MS, ...turns);
    this.cache.set(key, { access, until });
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    return access;
  }

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
      grant_expires_at: Date | null;
      marketing_sees_pii: boolean | null;
      read_only_from: Date | null;
      access_until: Date | null;
      delete_after: Date | null;
    }>(
      { tenantId, stores: [], userId },
      `select t.id is not null as exists, m.role, m.all_stores, m.store_ids, g.id as grant_id, g.scope as grant_scope,
              g.expires_at as grant_expires_at,
              (t.settings ->> 'marketingSeesPii') = 'true' as marketing_sees_pii,
              s.past_due_since + make_interval(days => $3) as read_only_from, t.access_until, t.delete_after
         from (select 1) as one
         left join tenants t on t.id = $1 and t.status <> 'deleted'
         left join subscriptions s on t.id is not null and s.tenant_id = $1 and s.status in ('past_due', 'unpaid')
         left join memberships m on t.id is not null and m.tenant_id = $1 and m.user_id = $2 and m.status = 'active'
         left join lateral (
           select id, scope, expires_at from support_grants
            where t.id is not null and tenant_id = $1 and requester_id = $2 and status = 'active' and expires_at > now()
            order by approved_at desc limit 1) g on true`,
      [tenantId, userId, this.config.billingGraceDays],
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
      grantExpiresAt: supportGrant ? (row.grant_expires_at?.getTime() ?? null) : null,
      readOnlyFrom: row.read_only_from?.getTime() ?? null,
      graceFrom: row.access_until?.getTime() ?? null,
      deleteAfter: row.delete_after?.getTime() ?? null,
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
