import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { Clock, type RequestContext } from '@forecourt/core';
import { TenantTransaction, type TenantWork } from '@forecourt/database';
import { lifecycleStateOf } from '@forecourt/tenants';
import { LifecycleError, LifecycleErrorCode } from './lifecycle-error';

export interface TenantStanding {
  id: string;
  /** active, suspended, cancelled (full access until `accessUntil`), grace (read-only) or deleted. */
  status: string;
  cancelledAt: Date | null;
  accessUntil: Date | null;
  deleteAfter: Date | null;
}

interface TenantRow {
  id: string;
  status: string;
  cancelled_at: Date | null;
  access_until: Date | null;
  delete_after: Date | null;
}

const TENANT_COLUMNS = 'id, status, cancelled_at, access_until, delete_after';

/**
 * A tenant leaving and, while its grace lasts, coming back. The dates follow from the status in
 * the database (a trigger, for the payment provider's cancellations too): access to the end of
 * the period paid for, then `GRACE_DAYS` read-only, then deletion.
 */
@Injectable()
export class TenantCancellation {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  /** The dealer_admin's cancellation; asking again answers the standing cancellation. */
  async cancel(ctx: RequestContext, tenantId: string): Promise<TenantStanding> {
    return this.inTenant(ctx, tenantId, async (tx, tenant) => {
      if (tenant.status === 'cancelled' || tenant.status === 'grace') return tenant;
      if (tenant.status !== 'active' && tenant.status !== 'suspended') {
        throw new LifecycleError(
          LifecycleErrorCode.NotCancellable,
          `A ${tenant.status} tenant cannot be cancelled`,
        );
      }
      const { rows } = await tx.query<TenantRow>(
        `update tenants set status = 'cancelled', cancelled_at = $2, updated_at = now() where id = $1
         returning ${TENANT_COLUMNS}`,
        [tenantId, this.clock.now()],
      );
      await this.audit.append(tx, ctx, {
        action: 'tenant.cancel',
        subjectType: 'Tenant',
        subjectId: tenantId,
      });
      return rows[0]!;
    });
  }

  /** The platform_owner takes a cancellation back, before the grace has run out. */
  async restore(ctx: RequestContext, tenantId: string): Promise<TenantStanding> {
    return this.inTenant(ctx, tenantId, async (tx, tenant) => {
      if (tenant.status !== 'cancelled' && tenant.status !== 'grace') {
        throw new LifecycleError(
          LifecycleErrorCode.NotCancelled,
          `Only a cancelled tenant or one in its grace can be restored; this one is ${tenant.status}`,
        );
      }
      if (tenant.delete_after !== null && tenant.delete_after <= this.clock.now()) {
        throw new LifecycleError(
          LifecycleErrorCode.GraceOver,
          `The tenant's grace ended on ${tenant.delete_after.toISOString()}; its deletion is due`,
        );
      }
      const { rows } = await tx.query<TenantRow>(
        `update tenants set status = 'active', updated_at = now() where id = $1 returning ${TENANT_COLUMNS}`,
        [tenantId],
      );
      await this.audit.append(tx, ctx, {
        action: 'tenant.restore',
        subjectType: 'Tenant',
        subjectId: tenantId,
      });
      return rows[0]!;
    });
  }

  /**
   * Moves the stored status of tenants whose paid period is over from `cancelled` to `grace`
   * (what the access checks already derive from the dates), so the database says it too.
   * Returns how many moved. Acts per tenant, each in its own transaction.
   */
  async enterGrace(tenantIds: readonly string[]): Promise<number> {
    let moved = 0;
    for (const tenantId of tenantIds) {
      const { rowCount } = await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
        const result = await tx.query(
          `update tenants set status = 'grace', updated_at = now()
            where id = $1 and status = 'cancelled' and access_until <= $2`,
          [tenantId, this.clock.now()],
        );
        if (result.rowCount) {
          await this.audit.append(tx, null, {
            action: 'tenant.grace_started',
            subjectType: 'Tenant',
            subjectId: tenantId,
          });
        }
        return result;
      });
      moved += rowCount ?? 0;
    }
    return moved;
  }

  private async inTenant(
    ctx: RequestContext,
    tenantId: string,
    work: (tx: TenantWork, tenant: TenantRow) => Promise<TenantRow>,
  ): Promise<TenantStanding> {
    const row = await this.transactions.run(
      { tenantId, stores: 'all', userId: ctx.principal?.userId ?? null },
      async (tx) => {
        const { rows } = await tx.query<TenantRow>(
          `select ${TENANT_COLUMNS} from tenants where id = $1 and status <> 'deleted' for update`,
          [tenantId],
        );
        if (!rows[0]) throw new LifecycleError(LifecycleErrorCode.NoTenant, 'No such tenant');
        return work(tx, rows[0]);
      },
    );
    return this.standingOf(row);
  }

  private standingOf(row: TenantRow): TenantStanding {
    const dates = { accessUntil: row.access_until, deleteAfter: row.delete_after };
    return {
      id: row.id,
      status: lifecycleStateOf({ status: row.status, ...dates }, this.clock.now()),
      cancelledAt: row.cancelled_at,
      ...dates,
    };
  }
}
