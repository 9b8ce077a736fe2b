import { Inject, Injectable } from '@nestjs/common';
import { pipeline } from 'node:stream';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import {
  AccessError,
  AccessErrorCode,
  type AppAbility,
  readableFields,
  RowPolicy,
  type RowColumns,
} from '@forecourt/authz';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { DEFAULT_PAGE_SIZE, newId, type Page, pageOf, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { listStatement } from './list-statement';
import {
  contentTypeCheck,
  type MediaDownload,
  type MediaType,
  type MediaUpload,
  VehicleStock,
} from '@forecourt/inventory';
import { ObjectDeletions, objectKeyOf, ObjectStore } from '@forecourt/storage';
import { assertWorksStore } from './assignees';
import { canMoveDeal, type DealStatus } from './deal-status';
import type { CreateDealDto, DealDto, DealQueryDto, PatchDealDto } from './deal.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

const DEAL_COLUMNS = `d.id, d.store_id as "storeId", d.customer_id as "customerId", c.name as "customerName",
  d.vehicle_id as "vehicleId", d.price_minor::float8 as "priceMinor", d.currency, d.status,
  d.assigned_user_id as "assignedUserId", ${isoTimestampSql('d.signed_at')} as "signedAt", ${isoTimestampSql('d.delivered_at')} as "deliveredAt",
  ${isoTimestampSql('d.cancelled_at')} as "cancelledAt", ${isoTimestampSql('d.created_at')} as "createdAt",
  case when d.bill_of_sale_key is not null then jsonb_build_object('size', d.bill_of_sale_size,
    'sha256', encode(d.bill_of_sale_sha256, 'hex'), 'uploadedAt', ${isoTimestampSql('d.bill_of_sale_at')}) end as "billOfSale"`;
// A left join, as for leads: the page is walked in id order instead of sorting every deal of the tenant.
const DEALS_WITH_CUSTOMER = `deals d left join customers c on c.tenant_id = d.tenant_id and c.id = d.customer_id`;
const DEAL_ROW: RowColumns = {
  tenantId: 'd.tenant_id',
  storeId: 'd.store_id',
  assignedUserId: 'd.assigned_user_id',
};

/** What each step does to the vehicle, and the event that records the step. */
const STEPS: Partial<Record<DealStatus, { vehicle: 'reserved' | 'sold' | 'in_stock'; action: string }>> = {
  signed: { vehicle: 'reserved', action: 'deal.signed' },
  delivered: { vehicle: 'sold', action: 'deal.delivered' },
  cancelled: { vehicle: 'in_stock', action: 'deal.cancelled' },
};

/**
 * Deals: a customer buying a vehicle. Signing reserves the vehicle, delivery sells it, cancelling
 * a signed deal puts it back in stock — each in the transaction that moves the deal, under a lock
 * on the vehicle, and at most one signed deal per vehicle (the database's partial unique index
 * backs the lock up). A deal names its customer, so its reads are audited.
 */
@Injectable()
export class Deals {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
    private readonly stock: VehicleStock,
    private readonly objects: ObjectStore,
    private readonly deletions: ObjectDeletions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(ctx: RequestContext, ability: AppAbility, body: CreateDealDto): Promise<DealDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    const assignee = body.assignedUserId ?? ctx.principal!.userId;
    if (assignee !== ctx.principal?.userId && !ability.can('assign', 'Deal')) {
      throw new AccessError(
        AccessErrorCode.Forbidden,
        'assignedUserId: your role may take deals only for yourself',
      );
    }
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        await assertWorksStore(tx, assignee, body.storeId, 'assignedUserId');
        const vehicle = await this.stock.lock(tx, body.vehicleId);
        if (vehicle.status === 'sold') {
          throw new LeadsError(LeadsErrorCode.VehicleTaken, 'vehicleId: the vehicle is sold');
        }
        await tx.query(
          `insert into deals (tenant_id, id, store_id, customer_id, vehicle_id, price_minor, currency, assigned_user_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            scope.tenantId,
            id,
            body.storeId,
            body.customerId,
            body.vehicleId,
            body.priceMinor,
            body.currency,
            assignee,
          ],
        );
        await this.audit.append(tx, ctx, {
          action: 'deal.create',
          subjectType: 'Deal',
          subjectId: id,
          subjectIds: [body.customerId, body.vehicleId],
          storeId: body.storeId,
        });
        return this.deal(tx, id);
      }),
    );
  }

  async list(ctx: RequestContext, ability: AppAbility, query: DealQueryDto): Promise<Page<DealDto>> {
    const scope = tenantScopeOf(ctx);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const listing = dealListQuery(scope.tenantId, ability, query, limit);
    const { rows } = await this.transactions.statement<DealDto>(scope, listing.sql, listing.params);
    const page = pageOf(rows, limit);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'deal.list',
      subjectType: 'Deal',
      subjectIds: page.data.map((deal) => deal.id),
    });
    return page;
  }

  async get(ctx: RequestContext, ability: AppAbility, dealId: string): Promise<DealDto> {
    const scope = tenantScopeOf(ctx);
    const deal = await this.transactions.run(scope, (tx) => this.deal(tx, dealId));
    await this.rows.assert(ctx, ability, 'read', 'Deal', { tenantId: scope.tenantId, ...deal });
    await this.audit.record(ctx, scope.tenantId, {
      action: 'deal.read',
      subjectType: 'Deal',
      subjectId: dealId,
      subjectIds: [deal.customerId],
      storeId: deal.storeId,
    });
    return deal;
  }

  /** Moves the deal (and with it the vehicle), or changes a draft's price. */
  async update(
    ctx: RequestContext,
    ability: AppAbility,
    dealId: string,
    patch: PatchDealDto,
  ): Promise<DealDto> {
    const scope = tenantScopeOf(ctx);
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const current = await this.deal(tx, dealId, { lock: true });
        await this.rows.assert(ctx, ability, 'update', 'Deal', { tenantId: scope.tenantId, ...current });
        const repriced = ['priceMinor', 'currency'].filter(
          (field) =>
            patch[field as 'priceMinor' | 'currency'] !== undefined &&
            patch[field as 'priceMinor' | 'currency'] !== current[field as 'priceMinor' | 'currency'],
        );
        if (repriced.length > 0) {
          if (current.status !== 'draft') {
            throw new LeadsError(LeadsErrorCode.DealLocked, 'priceMinor: only a draft deal can be repriced');
          }
          await tx.query(
            `update deals set price_minor = $3, currency = $4, updated_at = now() where tenant_id = $1 and id = $2`,
            [
              scope.tenantId,
              dealId,
              patch.priceMinor ?? current.priceMinor,
              patch.currency ?? current.currency,
            ],
          );
          await this.audit.append(tx, ctx, {
            action: 'deal.update',
            subjectType: 'Deal',
            subjectId: dealId,
            storeId: current.storeId,
            changedFields: repriced,
          });
        }
        const to = patch.status ?? current.status;
        if (to !== current.status) await this.move(tx, ctx, current, to);
        return this.deal(tx, dealId);
      }),
    );
  }

  /** Largest accepted bill of sale, in bytes (the media limit). */
  get maxUploadBytes(): number {
    return this.config.mediaMaxBytes;
  }

  /**
   * Stores the signed deal's bill of sale — a PDF, as its bytes prove — encrypted under the
   * tenant's key; a later upload replaces it (the earlier object is removed after the commit).
   */
  async uploadBillOfSale(
    ctx: RequestContext,
    ability: AppAbility,
    dealId: string,
    upload: MediaUpload,
  ): Promise<DealDto> {
    const scope = tenantScopeOf(ctx);
    const tenantId = scope.tenantId;
    const deal = await this.transactions.run(scope, (tx) => this.deal(tx, dealId));
    await this.rows.assert(ctx, ability, 'update', 'Deal', { tenantId, ...deal });
    if (deal.status !== 'signed' && deal.status !== 'delivered') {
      upload.file.resume();
      throw new LeadsError(LeadsErrorCode.DealLocked, 'file: a bill of sale belongs to a signed deal');
    }
    const path = `deals/${dealId}/bill-of-sale/${newId()}`;
    const key = objectKeyOf({ tenantId }, path);
    await this.deletions.reserve(tenantId, key);
    let type: MediaType | null = null;
    const checked = pipeline(
      upload.file,
      contentTypeCheck((found) => (type = found)),
      () => undefined,
    );
    const stored = await this.objects.put({ tenantId }, path, checked).catch(async (error: unknown) => {
      await this.deletions.carryOut(tenantId, [key]);
      throw error;
    });
    if ((type as MediaType | null) !== 'application/pdf') {
      await this.deletions.carryOut(tenantId, [key]);
      throw new LeadsError(LeadsErrorCode.NotAPdf, 'file: a bill of sale is a PDF (whatever its name says)');
    }
    const previous = await this.transactions.run(scope, async (tx) => {
      const { rows } = await tx.query<{ key: string | null }>(
        'select bill_of_sale_key as key from deals where tenant_id = $1 and id = $2 for update',
        [tenantId, dealId],
      );
      await tx.query(
        `update deals set bill_of_sale_key = $3, bill_of_sale_size = $4, bill_of_sale_sha256 = decode($5, 'hex'),
           bill_of_sale_at = now(), updated_at = now() where tenant_id = $1 and id = $2`,
        [tenantId, dealId, stored.key, stored.size, stored.sha256],
      );
      await this.deletions.claim(tx, stored.key);
      if (rows[0]?.key) await this.deletions.schedule(tx, rows[0].key);
      await this.audit.append(tx, ctx, {
        action: 'bill_of_sale.upload',
        subjectType: 'Deal',
        subjectId: dealId,
        storeId: deal.storeId,
      });
      return rows[0]?.key ?? null;
    });
    if (previous) await this.deletions.carryOut(tenantId, [previous]);
    return this.transactions.run(scope, (tx) => this.deal(tx, dealId));
  }

  /** The bill of sale's bytes, for a caller who may see the deal's customer; the read is recorded. */
  async billOfSale(ctx: RequestContext, ability: AppAbility, dealId: string): Promise<MediaDownload> {
    const scope = tenantScopeOf(ctx);
    const tenantId = scope.tenantId;
    const { deal, key } = await this.transactions.run(scope, async (tx) => {
      const found = await this.deal(tx, dealId);
      const { rows } = await tx.query<{ key: string | null }>(
        'select bill_of_sale_key as key from deals where tenant_id = $1 and id = $2',
        [tenantId, dealId],
      );
      return { deal: found, key: rows[0]?.key ?? null };
    });
    await this.rows.assert(ctx, ability, 'read', 'Deal', { tenantId, ...deal });
    // The document names the customer: only for those who may read the deal's customer.
    if (!readableFields(ability, 'Deal').has('customerName')) {
      throw new AccessError(
        AccessErrorCode.Forbidden,
        'The bill of sale names the customer, whom your role may not see',
      );
    }
    if (!key || !deal.billOfSale)
      throw new LeadsError(LeadsErrorCode.DealNotFound, 'This deal has no bill of sale');
    await this.audit.record(ctx, tenantId, {
      action: 'bill_of_sale.download',
      subjectType: 'Deal',
      subjectId: dealId,
      subjectIds: [deal.customerId],
      storeId: deal.storeId,
    });
    const body = await this.objects.open({ tenantId }, key.slice(`tenants/${tenantId}/`.length));
    if (!body) throw new LeadsError(LeadsErrorCode.DealNotFound, 'This deal has no bill of sale');
    return {
      body,
      contentType: 'application/pdf',
      size: deal.billOfSale.size,
      fileName: `bill-of-sale-${dealId}.pdf`,
    };
  }

  private async move(tx: TenantWork, ctx: RequestContext, deal: DealDto, to: DealStatus): Promise<void> {
    if (!canMoveDeal(deal.status, to)) {
      throw new LeadsError(
        LeadsErrorCode.DealTransition,
        `status: a ${deal.status} deal cannot become ${to}`,
      );
    }
    const step = STEPS[to]!;
    if (to === 'signed') {
      // Under the vehicle's lock: a deal signed meanwhile by someone else is seen here.
      await this.stock.lock(tx, deal.vehicleId);
      const { rows } = await tx.query(
        `select 1 from deals where tenant_id = $1 and vehicle_id = $2 and status in ('signed', 'delivered') and id <> $3`,
        [tx.scope.tenantId, deal.vehicleId, deal.id],
      );
      if (rows.length > 0) throw vehicleTaken();
    }
    // A draft dropped never touched the vehicle.
    if (!(to === 'cancelled' && deal.status === 'draft')) {
      await this.stock.move(tx, ctx, deal.vehicleId, step.vehicle, step.action.replace('.', ' '));
    }
    const stamp = { signed: 'signed_at', delivered: 'delivered_at', cancelled: 'cancelled_at' }[
      to as 'signed'
    ];
    await tx.query(
      `update deals set status = $3, ${stamp} = now(), updated_at = now() where tenant_id = $1 and id = $2`,
      [tx.scope.tenantId, deal.id, to],
    );
    await this.audit.append(tx, ctx, {
      action: step.action,
      subjectType: 'Deal',
      subjectId: deal.id,
      subjectIds: [deal.vehicleId],
      storeId: deal.storeId,
    });
  }

  private async deal(tx: TenantWork, dealId: string, options: { lock?: boolean } = {}): Promise<DealDto> {
    const { rows } = await tx.query<DealDto>(
      `select ${DEAL_COLUMNS} from ${DEALS_WITH_CUSTOMER} where d.tenant_id = $1 and d.id = $2${options.lock ? ' for update of d' : ''}`,
      [tx.scope.tenantId, dealId],
    );
    if (!rows[0]) throw new LeadsError(LeadsErrorCode.DealNotFound, 'No such deal');
    return rows[0];
  }

  private async translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseError && error.constraint === 'deals_one_per_vehicle')
        throw vehicleTaken();
      if (error instanceof DatabaseError && error.code === '23503') {
        throw new LeadsError(LeadsErrorCode.UnknownCustomer, 'customerId: no such customer in this store');
      }
      throw error;
    }
  }
}

function vehicleTaken(): LeadsError {
  return new LeadsError(
    LeadsErrorCode.VehicleTaken,
    'vehicleId: another signed deal already holds this vehicle',
  );
}

/** The statement of one page of the deal list (exported for the plan test). */
export function dealListQuery(
  tenantId: string,
  ability: AppAbility,
  query: DealQueryDto,
  limit: number,
): { sql: string; params: unknown[] } {
  return listStatement({
    tenantId,
    ability,
    subject: 'Deal',
    alias: 'd',
    columns: DEAL_COLUMNS,
    from: DEALS_WITH_CUSTOMER,
    row: DEAL_ROW,
    limit,
    cursor: query.cursor,
    equal: [
      ['d.store_id', query.storeId],
      ['d.status', query.status],
      ['d.vehicle_id', query.vehicleId],
    ],
  });
}
