import { Injectable } from '@nestjs/common';
import { decodeCursor, DEFAULT_PAGE_SIZE, type Page, pageOf, type RequestContext } from '@forecourt/core';
import { AuditTrail } from '@forecourt/audit';
import { accessibleWhere, type AppAbility, RowPolicy, type RowColumns } from '@forecourt/authz';
import { tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { PatchMembershipDto, TenantUserDto } from './tenant.dto';
import { assertStoresOfTenant } from './store-membership';
import { TenantError, TenantErrorCode } from './tenant-error';

const MEMBER_COLUMNS = `u.id, u.email, u.name, m.role, m.all_stores as "allStores", m.store_ids as "storeIds", m.status`;
/** Where a member row keeps the fields the matrix writes conditions on. */
const MEMBER_ROW: RowColumns = { tenantId: 'm.tenant_id', userId: 'u.id' };
const MEMBER_BY_ID = `select ${MEMBER_COLUMNS} from memberships m join users u on u.id = m.user_id
  where m.tenant_id = $1 and m.user_id = $2 and m.status = 'active'`;

/**
 * The people of the caller's tenant: list, read, change role and stores, remove, end sessions.
 * Their names and e-mails are personal data, so reads are audited like writes.
 */
@Injectable()
export class Members {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  /** The members the caller may read (all of them for an admin; only themself for sales). */
  async list(
    ctx: RequestContext,
    ability: AppAbility,
    limit = DEFAULT_PAGE_SIZE,
    cursor?: string,
  ): Promise<Page<TenantUserDto>> {
    const scope = tenantScopeOf(ctx);
    const readable = accessibleWhere(ability, 'read', 'User', MEMBER_ROW, 4);
    const { rows } = await this.transactions.statement<TenantUserDto>(
      scope,
      `select ${MEMBER_COLUMNS} from memberships m join users u on u.id = m.user_id
        where m.tenant_id = $1 and m.status = 'active' and ($2::uuid is null or u.id > $2) and ${readable.sql}
        order by u.id limit $3`,
      [scope.tenantId, decodeCursor(cursor), limit + 1, ...readable.params],
    );
    const page = pageOf(rows, limit);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'user.list',
      subjectType: 'User',
      subjectIds: page.data.map((user) => user.id),
    });
    return page;
  }

  async get(ctx: RequestContext, ability: AppAbility, userId: string): Promise<TenantUserDto> {
    const scope = tenantScopeOf(ctx);
    // A user row's conditions are all in the path: checked before reading, so a caller who may not
    // read this person cannot learn whether they are a member either.
    await this.rows.assert(ctx, ability, 'read', 'User', { tenantId: scope.tenantId, userId });
    const { rows } = await this.transactions.statement<TenantUserDto>(scope, MEMBER_BY_ID, [
      scope.tenantId,
      userId,
    ]);
    if (!rows[0]) throw new TenantError(TenantErrorCode.UserNotFound, 'No such user in this tenant');
    await this.audit.record(ctx, scope.tenantId, {
      action: 'user.read',
      subjectType: 'User',
      subjectId: userId,
    });
    return rows[0];
  }

  /** Changes a member's role or store scope; the change is recorded. */
  async update(ctx: RequestContext, userId: string, patch: PatchMembershipDto): Promise<TenantUserDto> {
    const scope = tenantScopeOf(ctx);
    return this.transactions.run(scope, async (tx) => {
      const current = await this.member(tx, userId);
      const role = patch.role ?? current.role;
      const allStores = role === 'dealer_admin' ? true : (patch.allStores ?? current.allStores);
      if (role === 'dealer_admin' && patch.allStores === false) {
        throw new TenantError(
          TenantErrorCode.AdminNeedsAllStores,
          'allStores: a dealer_admin always has all stores',
        );
      }
      const storeIds = allStores ? [] : (patch.storeIds ?? current.storeIds);
      await assertStoresOfTenant(tx, storeIds);
      await tx.query(
        `update memberships set role = $3, all_stores = $4, store_ids = $5, updated_at = now()
          where tenant_id = $1 and user_id = $2`,
        [scope.tenantId, userId, role, allStores, storeIds],
      );
      const changed = {
        role: role !== current.role,
        allStores: allStores !== current.allStores,
        storeIds: !sameIds(storeIds, current.storeIds),
      };
      await this.audit.append(tx, ctx, {
        action: 'membership.update',
        subjectType: 'Membership',
        subjectId: userId,
        changedFields: Object.keys(changed).filter((field) => changed[field as keyof typeof changed]),
      });
      return { ...current, role, allStores, storeIds };
    });
  }

  /** Removes the member from this tenant and ends all of their sessions at once. */
  async remove(ctx: RequestContext, userId: string): Promise<void> {
    const scope = tenantScopeOf(ctx);
    await this.transactions.run(scope, async (tx) => {
      await this.member(tx, userId);
      await tx.query('select app.revoke_member_sessions($1)', [userId]);
      await tx.query(
        `update memberships set status = 'deactivated', updated_at = now() where tenant_id = $1 and user_id = $2`,
        [scope.tenantId, userId],
      );
      await this.audit.append(tx, ctx, {
        action: 'membership.delete',
        subjectType: 'Membership',
        subjectId: userId,
      });
    });
  }

  /** Ends every session of a member of this tenant, on every instance, from the next request on. */
  async revokeSessions(ctx: RequestContext, userId: string): Promise<void> {
    await this.transactions.run(tenantScopeOf(ctx), async (tx) => {
      await this.member(tx, userId);
      await tx.query('select app.revoke_member_sessions($1)', [userId]);
      await this.audit.append(tx, ctx, { action: 'session.revoke', subjectType: 'User', subjectId: userId });
    });
  }

  private async member(tx: TenantWork, userId: string): Promise<TenantUserDto> {
    const { rows } = await tx.query<TenantUserDto>(MEMBER_BY_ID, [tx.scope.tenantId, userId]);
    if (!rows[0]) throw new TenantError(TenantErrorCode.UserNotFound, 'No such user in this tenant');
    return rows[0];
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((id, index) => id === [...b].sort()[index]);
}
