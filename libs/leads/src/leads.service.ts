import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import { AccessError, AccessErrorCode, type AppAbility, RowPolicy, type RowColumns } from '@forecourt/authz';
import { DEFAULT_PAGE_SIZE, newId, type Page, pageOf, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { listStatement } from './list-statement';
import { assertWorksStore } from './assignees';
import { canMoveLead } from './lead-status';
import type { CreateLeadDto, LeadDto, LeadQueryDto, PatchLeadDto } from './lead.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

const LEAD_COLUMNS = `l.id, l.store_id as "storeId", l.customer_id as "customerId", c.name as "customerName",
  c.email as "customerEmail", c.phone as "customerPhone", l.vehicle_id as "vehicleId", l.source, l.status,
  l.lost_reason as "lostReason", l.assigned_user_id as "assignedUserId",
  ${isoTimestampSql('l.created_at')} as "createdAt", l.version`;
// A left join: the planner then walks the leads in id order and stops at the page (an inner join it
// estimated at one row and sorted every lead of the tenant); a lead's customer is always in its store.
const LEADS_WITH_CUSTOMER = `leads l left join customers c on c.tenant_id = l.tenant_id and c.id = l.customer_id`;
/** Where a lead row keeps the fields the matrix writes conditions on. */
const LEAD_ROW: RowColumns = {
  tenantId: 'l.tenant_id',
  storeId: 'l.store_id',
  assignedUserId: 'l.assigned_user_id',
};

/**
 * Leads of the caller's stores: a customer's interest worked through the pipeline by an assigned
 * member. Sales reach only the leads assigned to them (the matrix, through `accessibleWhere` and
 * `RowPolicy`); a lead carries its customer's contact details, so its reads are audited.
 */
@Injectable()
export class Leads {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async create(ctx: RequestContext, ability: AppAbility, body: CreateLeadDto): Promise<LeadDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    const assignee = body.assignedUserId ?? ctx.principal!.userId;
    // Handing a new lead to someone else is assigning it.
    if (assignee !== ctx.principal?.userId && !ability.can('assign', 'Lead')) {
      throw new AccessError(
        AccessErrorCode.Forbidden,
        'assignedUserId: your role may assign leads only to yourself',
      );
    }
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        await assertWorksStore(tx, assignee, body.storeId, 'assignedUserId');
        await tx.query(
          `insert into leads (tenant_id, id, store_id, customer_id, vehicle_id, source, assigned_user_id)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [scope.tenantId, id, body.storeId, body.customerId, body.vehicleId ?? null, body.source, assignee],
        );
        await this.audit.append(tx, ctx, {
          action: 'lead.create',
          subjectType: 'Lead',
          subjectId: id,
          subjectIds: [body.customerId],
          storeId: body.storeId,
        });
        return this.lead(tx, id);
      }),
    );
  }

  /** A page of the leads the caller may read (for sales: those assigned to them); the ids are recorded. */
  async list(ctx: RequestContext, ability: AppAbility, query: LeadQueryDto): Promise<Page<LeadDto>> {
    const scope = tenantScopeOf(ctx);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const listing = leadListQuery(scope.tenantId, ability, query, limit);
    const { rows } = await this.transactions.statement<LeadDto>(scope, listing.sql, listing.params);
    const page = pageOf(rows, limit);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'lead.list',
      subjectType: 'Lead',
      subjectIds: page.data.map((lead) => lead.id),
    });
    return page;
  }

  async get(ctx: RequestContext, ability: AppAbility, leadId: string): Promise<LeadDto> {
    const scope = tenantScopeOf(ctx);
    const lead = await this.transactions.run(scope, (tx) => this.lead(tx, leadId));
    await this.rows.assert(ctx, ability, 'read', 'Lead', { tenantId: scope.tenantId, ...lead });
    await this.audit.record(ctx, scope.tenantId, {
      action: 'lead.read',
      subjectType: 'Lead',
      subjectId: leadId,
      subjectIds: [lead.customerId],
      storeId: lead.storeId,
    });
    return lead;
  }

  /**
   * Moves the lead along the pipeline (a lost lead needs its reason) or changes its vehicle.
   * `expectedVersion` (from If-Match): refused unless the lead is still at that version.
   */
  async update(
    ctx: RequestContext,
    ability: AppAbility,
    leadId: string,
    patch: PatchLeadDto,
    expectedVersion: number | null = null,
  ): Promise<LeadDto> {
    const scope = tenantScopeOf(ctx);
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const current = await this.lead(tx, leadId, { lock: true });
        await this.rows.assert(ctx, ability, 'update', 'Lead', { tenantId: scope.tenantId, ...current });
        assertVersion(current, expectedVersion);
        const status = patch.status ?? current.status;
        if (!canMoveLead(current.status, status)) {
          throw new LeadsError(
            LeadsErrorCode.StatusTransition,
            `status: a lead that is ${current.status} cannot become ${status}`,
          );
        }
        const lostReason = status === 'lost' ? (patch.lostReason ?? current.lostReason) : null;
        if (status === 'lost' && !lostReason) {
          throw new LeadsError(LeadsErrorCode.LostReasonRequired, 'lostReason: say why the lead was lost');
        }
        if (status !== 'lost' && patch.lostReason !== undefined) {
          throw new LeadsError(LeadsErrorCode.LostReasonRequired, 'lostReason: only a lost lead has one');
        }
        const vehicleId = patch.vehicleId === undefined ? current.vehicleId : patch.vehicleId;
        const changed = [
          ...(status !== current.status ? ['status'] : []),
          ...(lostReason !== current.lostReason ? ['lostReason'] : []),
          ...(vehicleId !== current.vehicleId ? ['vehicleId'] : []),
        ];
        if (changed.length === 0) return current;
        await tx.query(
          `update leads set status = $3, lost_reason = $4, vehicle_id = $5, version = version + 1, updated_at = now()
            where tenant_id = $1 and id = $2`,
          [scope.tenantId, leadId, status, lostReason, vehicleId],
        );
        await this.audit.append(tx, ctx, {
          action: 'lead.update',
          subjectType: 'Lead',
          subjectId: leadId,
          storeId: current.storeId,
          changedFields: changed,
        });
        return this.lead(tx, leadId);
      }),
    );
  }

  /** Hands the lead to a member who works its store (`expectedVersion` as for {@link update}). */
  async assign(
    ctx: RequestContext,
    ability: AppAbility,
    leadId: string,
    userId: string,
    expectedVersion: number | null = null,
  ): Promise<LeadDto> {
    const scope = tenantScopeOf(ctx);
    return this.transactions.run(scope, async (tx) => {
      const current = await this.lead(tx, leadId, { lock: true });
      await this.rows.assert(ctx, ability, 'assign', 'Lead', { tenantId: scope.tenantId, ...current });
      assertVersion(current, expectedVersion);
      await assertWorksStore(tx, userId, current.storeId, 'userId');
      if (userId === current.assignedUserId) return current;
      await tx.query(
        'update leads set assigned_user_id = $3, version = version + 1, updated_at = now() where tenant_id = $1 and id = $2',
        [scope.tenantId, leadId, userId],
      );
      await this.audit.append(tx, ctx, {
        action: 'lead.assign',
        subjectType: 'Lead',
        subjectId: leadId,
        subjectIds: [userId],
        storeId: current.storeId,
        changedFields: ['assignedUserId'],
      });
      return this.lead(tx, leadId);
    });
  }

  private async lead(tx: TenantWork, leadId: string, options: { lock?: boolean } = {}): Promise<LeadDto> {
    const { rows } = await tx.query<LeadDto>(
      `select ${LEAD_COLUMNS} from ${LEADS_WITH_CUSTOMER} where l.tenant_id = $1 and l.id = $2${options.lock ? ' for update of l' : ''}`,
      [tx.scope.tenantId, leadId],
    );
    if (!rows[0]) throw new LeadsError(LeadsErrorCode.LeadNotFound, 'No such lead');
    return rows[0];
  }

  private async translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseError && error.code === '23503') {
        if (error.constraint?.includes('vehicle')) {
          throw new LeadsError(LeadsErrorCode.UnknownVehicle, 'vehicleId: no such vehicle in this group');
        }
        throw new LeadsError(LeadsErrorCode.UnknownCustomer, 'customerId: no such customer in this store');
      }
      throw error;
    }
  }
}

/** The statement of one page of the lead list (exported for the plan test). */
export function leadListQuery(
  tenantId: string,
  ability: AppAbility,
  query: LeadQueryDto,
  limit: number,
): { sql: string; params: unknown[] } {
  return listStatement({
    tenantId,
    ability,
    subject: 'Lead',
    alias: 'l',
    columns: LEAD_COLUMNS,
    from: LEADS_WITH_CUSTOMER,
    row: LEAD_ROW,
    limit,
    cursor: query.cursor,
    equal: [
      ['l.store_id', query.storeId],
      ['l.status', query.status],
      ['l.assigned_user_id', query.assignedUserId],
      ['l.customer_id', query.customerId],
    ],
  });
}

/** A change made against a version the lead has moved past would overwrite what it did not see. */
function assertVersion(current: LeadDto, expected: number | null): void {
  if (expected !== null && current.version !== expected) {
    throw new LeadsError(
      LeadsErrorCode.VersionMismatch,
      `If-Match: the lead changed since version ${expected}; it is at version ${current.version}, read it again`,
    );
  }
}
