import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import { AccessError, AccessErrorCode, type AppAbility, RowPolicy, type RowColumns } from '@forecourt/authz';
import { DEFAULT_PAGE_SIZE, newId, type Page, pageOf, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { listStatement } from './list-statement';
import { assertWorksStore } from './assignees';
import type { BookingDto, BookingQueryDto, CreateBookingDto, PatchBookingDto } from './conversation.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

const BOOKING_COLUMNS = `b.id, b.store_id as "storeId", b.lead_id as "leadId", c.name as "customerName", b.kind,
  b.vehicle_id as "vehicleId", ${isoTimestampSql('b.starts_at')} as "startsAt", ${isoTimestampSql('b.ends_at')} as "endsAt",
  b.assigned_user_id as "assignedUserId", b.status`;
// Left joins, as for leads: the page is walked in id order (a booking's lead and customer share its store).
const BOOKINGS_WITH_CUSTOMER = `bookings b left join leads l on l.tenant_id = b.tenant_id and l.id = b.lead_id
  left join customers c on c.tenant_id = l.tenant_id and c.id = l.customer_id`;
const BOOKING_ROW: RowColumns = {
  tenantId: 'b.tenant_id',
  storeId: 'b.store_id',
  assignedUserId: 'b.assigned_user_id',
};

/**
 * Test drives and appointments of a lead, in its store. A vehicle is never booked twice for
 * overlapping times (the database's exclusion constraint decides, so two bookings made at once
 * cannot both win). A booking names its customer, so its reads are audited.
 */
@Injectable()
export class Bookings {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async create(ctx: RequestContext, ability: AppAbility, body: CreateBookingDto): Promise<BookingDto> {
    const scope = tenantScopeOf(ctx);
    assertTimes(body.startsAt, body.endsAt);
    if (body.kind === 'test_drive' && !body.vehicleId) {
      throw new LeadsError(LeadsErrorCode.BookingTime, 'vehicleId: a test drive needs a vehicle');
    }
    const assignee = body.assignedUserId ?? ctx.principal!.userId;
    if (assignee !== ctx.principal?.userId && !ability.can('assign', 'Booking')) {
      throw new AccessError(
        AccessErrorCode.Forbidden,
        'assignedUserId: your role may book only for yourself',
      );
    }
    const id = newId();
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const { rows } = await tx.query<{ storeId: string }>(
          'select store_id as "storeId" from leads where tenant_id = $1 and id = $2',
          [scope.tenantId, body.leadId],
        );
        if (!rows[0]) throw new LeadsError(LeadsErrorCode.LeadNotFound, 'leadId: no such lead');
        const storeId = rows[0].storeId;
        await this.rows.assert(ctx, ability, 'create', 'Booking', { tenantId: scope.tenantId, storeId });
        await assertWorksStore(tx, assignee, storeId, 'assignedUserId');
        await tx.query(
          `insert into bookings (tenant_id, id, lead_id, store_id, kind, vehicle_id, starts_at, ends_at, assigned_user_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            scope.tenantId,
            id,
            body.leadId,
            storeId,
            body.kind,
            body.vehicleId ?? null,
            body.startsAt,
            body.endsAt,
            assignee,
          ],
        );
        await this.audit.append(tx, ctx, {
          action: 'booking.create',
          subjectType: 'Booking',
          subjectId: id,
          subjectIds: [body.leadId],
          storeId,
        });
        return this.booking(tx, id);
      }),
    );
  }

  async list(ctx: RequestContext, ability: AppAbility, query: BookingQueryDto): Promise<Page<BookingDto>> {
    const scope = tenantScopeOf(ctx);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const listing = bookingListQuery(scope.tenantId, ability, query, limit);
    const { rows } = await this.transactions.statement<BookingDto>(scope, listing.sql, listing.params);
    const page = pageOf(rows, limit);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'booking.list',
      subjectType: 'Booking',
      subjectIds: page.data.map((booking) => booking.id),
    });
    return page;
  }

  async get(ctx: RequestContext, ability: AppAbility, bookingId: string): Promise<BookingDto> {
    const scope = tenantScopeOf(ctx);
    const booking = await this.transactions.run(scope, (tx) => this.booking(tx, bookingId));
    await this.rows.assert(ctx, ability, 'read', 'Booking', { tenantId: scope.tenantId, ...booking });
    await this.audit.record(ctx, scope.tenantId, {
      action: 'booking.read',
      subjectType: 'Booking',
      subjectId: bookingId,
      storeId: booking.storeId,
    });
    return booking;
  }

  /** Moves the booking to other times, or cancels it (freeing its vehicle's slot). */
  async update(
    ctx: RequestContext,
    ability: AppAbility,
    bookingId: string,
    patch: PatchBookingDto,
  ): Promise<BookingDto> {
    const scope = tenantScopeOf(ctx);
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const current = await this.booking(tx, bookingId, { lock: true });
        await this.rows.assert(ctx, ability, 'update', 'Booking', { tenantId: scope.tenantId, ...current });
        const startsAt = patch.startsAt ?? current.startsAt;
        const endsAt = patch.endsAt ?? current.endsAt;
        assertTimes(startsAt, endsAt);
        const status = patch.status ?? current.status;
        const changed = [
          ...(Date.parse(startsAt) !== Date.parse(current.startsAt) ? ['startsAt'] : []),
          ...(Date.parse(endsAt) !== Date.parse(current.endsAt) ? ['endsAt'] : []),
          ...(status !== current.status ? ['status'] : []),
        ];
        if (changed.length === 0) return current;
        await tx.query(
          `update bookings set starts_at = $3, ends_at = $4, status = $5, updated_at = now()
            where tenant_id = $1 and id = $2`,
          [scope.tenantId, bookingId, startsAt, endsAt, status],
        );
        await this.audit.append(tx, ctx, {
          action: 'booking.update',
          subjectType: 'Booking',
          subjectId: bookingId,
          storeId: current.storeId,
          changedFields: changed,
        });
        return this.booking(tx, bookingId);
      }),
    );
  }

  private async booking(
    tx: TenantWork,
    bookingId: string,
    options: { lock?: boolean } = {},
  ): Promise<BookingDto> {
    const { rows } = await tx.query<BookingDto>(
      `select ${BOOKING_COLUMNS} from ${BOOKINGS_WITH_CUSTOMER} where b.tenant_id = $1 and b.id = $2${options.lock ? ' for update of b' : ''}`,
      [tx.scope.tenantId, bookingId],
    );
    if (!rows[0]) throw new LeadsError(LeadsErrorCode.BookingNotFound, 'No such booking');
    return rows[0];
  }

  private async translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseError && error.constraint === 'bookings_no_double_booking') {
        throw new LeadsError(
          LeadsErrorCode.DoubleBooking,
          'startsAt: the vehicle is already booked for that time',
        );
      }
      if (error instanceof DatabaseError && error.code === '23503') {
        throw new LeadsError(LeadsErrorCode.UnknownVehicle, 'vehicleId: no such vehicle in this group');
      }
      throw error;
    }
  }
}

/** A booking ends after it starts, within a day. */
function assertTimes(startsAt: string, endsAt: string): void {
  const [start, end] = [Date.parse(startsAt), Date.parse(endsAt)];
  if (!(end > start) || end - start > 24 * 60 * 60 * 1000) {
    throw new LeadsError(LeadsErrorCode.BookingTime, 'endsAt: must be after startsAt, within a day');
  }
}

/** The statement of one page of the booking list (exported for the plan test). */
export function bookingListQuery(
  tenantId: string,
  ability: AppAbility,
  query: BookingQueryDto,
  limit: number,
): { sql: string; params: unknown[] } {
  return listStatement({
    tenantId,
    ability,
    subject: 'Booking',
    alias: 'b',
    columns: BOOKING_COLUMNS,
    from: BOOKINGS_WITH_CUSTOMER,
    row: BOOKING_ROW,
    limit,
    cursor: query.cursor,
    equal: [
      ['b.store_id', query.storeId],
      ['b.vehicle_id', query.vehicleId],
      ['b.lead_id', query.leadId],
    ],
  });
}
