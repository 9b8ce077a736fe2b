import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { accessibleWhere, type AppAbility, RowPolicy } from '@forecourt/authz';
import { newId, type RequestContext } from '@forecourt/core';
import { tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { RequestSupportGrantDto, SupportGrantDto, SupportGrantStateDto } from './support-grant.dto';
import { TenantError, TenantErrorCode } from './tenant-error';

/** The newest actions listed per grant; the audit trail holds them all. */
const ACTIONS_LISTED = 200;
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const STATUS = `case when g.status = 'active' and g.expires_at <= now() then 'expired' else g.status end`;

/**
 * Support access grants: the only way platform staff reach a tenant's data. Requested with a
 * reason, a scope and a duration (≤ 8 h); approved by the tenant's dealer_admin, or by a
 * platform owner as recorded break-glass; revocable at once; expired by the clock (the access
 * guard only honours an unexpired active grant). Every step is an audit event of the tenant.
 */
@Injectable()
export class SupportGrants {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async request(ctx: RequestContext, dto: RequestSupportGrantDto): Promise<SupportGrantStateDto> {
    const requesterId = ctx.principal!.userId;
    const id = newId();
    return this.transactions.run(
      { tenantId: dto.tenantId, stores: 'all', userId: requesterId },
      async (tx) => {
        const tenant = await tx.query(`select 1 from tenants where id = $1 and status <> 'deleted'`, [
          dto.tenantId,
        ]);
        if (tenant.rowCount === 0)
          throw new TenantError(TenantErrorCode.TenantNotFound, 'tenantId: no such tenant');
        await tx.query(
          `insert into support_grants (tenant_id, id, requester_id, reason, scope, duration_minutes)
         values ($1, $2, $3, $4, $5, $6)`,
          [dto.tenantId, id, requesterId, dto.reason.trim(), dto.scope, dto.durationMinutes],
        );
        await this.audit.append(tx, ctx, {
          action: 'support_grant.requested',
          subjectType: 'SupportGrant',
          subjectId: id,
          reason: `scope ${dto.scope}, ${dto.durationMinutes} minutes`,
        });
        return { id, status: 'pending' };
      },
    );
  }

  /** Approves a pending grant; by a platform owner (no membership here) it is break-glass. */
  async approve(ctx: RequestContext, ability: AppAbility, id: string): Promise<SupportGrantStateDto> {
    const scope = tenantScopeOf(ctx);
    const breakGlass = ctx.tenant?.role === 'platform_owner';
    return this.transactions.run(scope, async (tx) => {
      const grant = await this.load(tx, scope.tenantId, id);
      await this.rows.assert(ctx, ability, 'approve', 'SupportGrant', grant);
      if (grant.userId === ctx.principal!.userId) {
        throw new TenantError(
          TenantErrorCode.GrantSelfApproval,
          'A support grant is approved by someone other than its requester',
        );
      }
      if (grant.status !== 'pending') {
        throw new TenantError(TenantErrorCode.GrantNotPending, `This grant is ${grant.status}, not pending`);
      }
      const { rows } = await tx.query<{ expires_at: string }>(
        `update support_grants
            set status = 'active', approved_by = $3, approved_at = now(), break_glass = $4,
                expires_at = now() + make_interval(mins => duration_minutes)
          where tenant_id = $1 and id = $2
          returning to_char(expires_at at time zone 'UTC', ${ISO}) as expires_at`,
        [scope.tenantId, id, ctx.principal!.userId, breakGlass],
      );
      await this.audit.append(tx, ctx, {
        action: 'support_grant.approved',
        subjectType: 'SupportGrant',
        subjectId: id,
        reason: breakGlass ? 'break-glass approval by a platform owner' : null,
      });
      return { id, status: 'active', expiresAt: rows[0]!.expires_at };
    });
  }

  /** Ends a grant at once (the next request under it is refused). */
  async revoke(ctx: RequestContext, ability: AppAbility, id: string): Promise<void> {
    const scope = tenantScopeOf(ctx);
    await this.transactions.run(scope, async (tx) => {
      const grant = await this.load(tx, scope.tenantId, id);
      await this.rows.assert(ctx, ability, 'revoke', 'SupportGrant', grant);
      if (grant.status === 'revoked') return;
      await tx.query(
        `update support_grants set status = 'revoked', revoked_by = $3, revoked_at = now()
          where tenant_id = $1 and id = $2`,
        [scope.tenantId, id, ctx.principal!.userId],
      );
      await this.audit.append(tx, ctx, {
        action: 'support_grant.revoked',
        subjectType: 'SupportGrant',
        subjectId: id,
      });
    });
  }

  /** The grants the caller may read, each with what was done under it. */
  async list(ctx: RequestContext, ability: AppAbility): Promise<{ data: SupportGrantDto[] }> {
    const scope = tenantScopeOf(ctx);
    const readable = accessibleWhere(
      ability,
      'read',
      'SupportGrant',
      { tenantId: 'g.tenant_id', userId: 'g.requester_id' },
      3,
    );
    const { rows } = await this.transactions.statement<SupportGrantDto>(
      scope,
      `select g.id, g.tenant_id as "tenantId", g.requester_id as "requesterId", g.reason, g.scope,
              g.duration_minutes as "durationMinutes", ${STATUS} as status,
              to_char(g.requested_at at time zone 'UTC', ${ISO}) as "requestedAt",
              g.approved_by as "approvedBy", g.break_glass as "breakGlass",
              to_char(g.expires_at at time zone 'UTC', ${ISO}) as "expiresAt",
              coalesce((select jsonb_agg(a order by a.at) from (
                 select e.seq, to_char(e.at at time zone 'UTC', ${ISO}) as at, e.action,
                        e.subject_type as "subjectType", e.subject_id as "subjectId", e.outcome
                   from audit_events e where e.tenant_id = g.tenant_id and e.support_grant_id = g.id
                  order by e.at desc limit $2) a), '[]'::jsonb) as actions
         from support_grants g
        where g.tenant_id = $1 and ${readable.sql}
        order by g.requested_at desc, g.id`,
      [scope.tenantId, ACTIONS_LISTED, ...readable.params],
    );
    return { data: rows };
  }

  private async load(
    tx: TenantWork,
    tenantId: string,
    id: string,
  ): Promise<{ id: string; tenantId: string; userId: string; status: string }> {
    const { rows } = await tx.query<{ id: string; status: string; requester_id: string }>(
      `select id, status, requester_id from support_grants where tenant_id = $1 and id = $2 for update`,
      [tenantId, id],
    );
    const row = rows[0];
    if (!row) throw new TenantError(TenantErrorCode.GrantNotFound, 'No such support grant');
    return { id: row.id, tenantId, userId: row.requester_id, status: row.status };
  }
}
