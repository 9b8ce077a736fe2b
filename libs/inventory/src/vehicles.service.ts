import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  newId,
  type Page,
  pageOf,
  type RequestContext,
} from '@forecourt/core';
import { AuditTrail } from '@forecourt/audit';
import { accessibleWhere, type AppAbility, RowPolicy, type RowColumns } from '@forecourt/authz';
import { startsWithSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { ObjectDeletions } from '@forecourt/storage';
import { InventoryError, InventoryErrorCode } from './inventory-error';
import { MEDIA_COLUMNS } from './vehicle-media.service';
import { allowedNext, canMove } from './vehicle-status';
import type {
  CreateVehicleDto,
  PatchVehicleDto,
  VehicleDetailDto,
  VehicleDto,
  VehicleQueryDto,
} from './vehicle.dto';

const VEHICLE_COLUMNS = `v.id, v.store_id as "storeId", v.vin, v.year, v.make, v.model, v.trim, v.mileage,
  v.price_minor::float8 as "priceMinor", v.currency, v.status,
  to_char(v.acquired_at, 'YYYY-MM-DD') as "acquiredAt", to_char(v.sold_at, 'YYYY-MM-DD') as "soldAt",
  coalesce(v.sold_at, current_date) - v.acquired_at as "daysInStock"`;
/** Where a vehicle row keeps the fields the matrix writes conditions on. */
const VEHICLE_ROW: RowColumns = { tenantId: 'v.tenant_id', storeId: 'v.store_id' };
/** Fields a PATCH may change, with their columns. */
const PATCHABLE = {
  storeId: 'store_id',
  year: 'year',
  make: 'make',
  model: 'model',
  trim: 'trim',
  mileage: 'mileage',
  priceMinor: 'price_minor',
  currency: 'currency',
  status: 'status',
  acquiredAt: 'acquired_at',
} as const satisfies Record<keyof PatchVehicleDto, string>;

/**
 * The list's statement: one page (`limit + 1` rows, to know whether another follows) of the
 * vehicles `ability` may read, filtered. Every condition on a column uses only LEAKPROOF
 * operators, so it can reach its index under row-level security (the plan test checks each).
 */
export function vehicleListQuery(
  tenantId: string,
  query: VehicleQueryDto,
  limit: number,
  ability: AppAbility,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [tenantId, decodeCursor(query.cursor), limit + 1];
  const where = ['v.tenant_id = $1', '($2::uuid is null or v.id > $2)'];
  const filter = (sql: (placeholder: string) => string, value: unknown) => {
    if (value === undefined) return;
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  filter((p) => `v.store_id = ${p}`, query.storeId);
  filter((p) => `v.status = ${p}`, query.status);
  filter((p) => `v.make_key = lower(${p})`, query.make);
  filter((p) => `v.model_key = lower(${p})`, query.model);
  filter((p) => `v.year >= ${p}`, query.yearMin);
  filter((p) => `v.year <= ${p}`, query.yearMax);
  filter((p) => `v.price_minor >= ${p}`, query.priceMin);
  filter((p) => `v.price_minor <= ${p}`, query.priceMax);
  filter((p) => {
    return `(${startsWithSql('v.make_key', `lower(${p})`)} or ${startsWithSql('v.model_key', `lower(${p})`)}
      or ${startsWithSql('v.vin', `upper(${p})`)} or ${startsWithSql('v.vin_reversed', `reverse(upper(${p}))`)})`;
  }, query.q);
  const readable = accessibleWhere(ability, 'read', 'Vehicle', VEHICLE_ROW, params.length + 1);
  return {
    sql: `select ${VEHICLE_COLUMNS} from vehicles v
      where ${where.join(' and ')} and ${readable.sql}
      order by v.id limit $3`,
    params: [...params, ...readable.params],
  };
}

/**
 * The vehicles of the caller's stores. Row-level security keeps every statement inside the
 * caller's tenant and stores; the matrix (through `accessibleWhere` and `RowPolicy`) says which
 * of those rows the caller's role may read or change.
 */
@Injectable()
export class Vehicles {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
    private readonly deletions: ObjectDeletions,
  ) {}

  async create(ctx: RequestContext, body: CreateVehicleDto): Promise<VehicleDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    assertAcquiredNotInFuture(body.acquiredAt);
    return this.translated(body, () =>
      this.transactions.run(scope, async (tx) => {
        await tx.query(
          `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, trim, mileage, price_minor,
             currency, status, acquired_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13::date, current_date))`,
          [
            scope.tenantId,
            id,
            body.storeId,
            body.vin,
            body.year,
            body.make,
            body.model,
            body.trim ?? null,
            body.mileage,
            body.priceMinor,
            body.currency,
            body.status ?? 'in_stock',
            body.acquiredAt ?? null,
          ],
        );
        await this.audit.append(tx, ctx, {
          action: 'vehicle.create',
          subjectType: 'Vehicle',
          subjectId: id,
          storeId: body.storeId,
        });
        return this.vehicle(tx, id);
      }),
    );
  }

  /** One page of the vehicles the caller may read, filtered, in id (creation) order. */
  async list(ctx: RequestContext, ability: AppAbility, query: VehicleQueryDto): Promise<Page<VehicleDto>> {
    const scope = tenantScopeOf(ctx);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const listing = vehicleListQuery(scope.tenantId, query, limit, ability);
    const { rows } = await this.transactions.statement<VehicleDto>(scope, listing.sql, listing.params);
    return pageOf(rows, limit);
  }

  /** A vehicle with its media. */
  async get(ctx: RequestContext, ability: AppAbility, vehicleId: string): Promise<VehicleDetailDto> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<VehicleDetailDto>(
      scope,
      `select ${VEHICLE_COLUMNS},
          coalesce((select json_agg(m order by m."createdAt", m.id) from (
              select ${MEDIA_COLUMNS} from vehicle_media vm
               where vm.tenant_id = v.tenant_id and vm.vehicle_id = v.id) m), '[]') as media
        from vehicles v where v.tenant_id = $1 and v.id = $2`,
      [scope.tenantId, vehicleId],
    );
    const vehicle = rows[0];
    if (!vehicle) throw vehicleNotFound();
    await this.rows.assert(ctx, ability, 'read', 'Vehicle', { tenantId: scope.tenantId, ...vehicle });
    return vehicle;
  }

  /** Changes the given fields; a status change must follow the allowed transitions. */
  async update(
    ctx: RequestContext,
    ability: AppAbility,
    vehicleId: string,
    patch: PatchVehicleDto,
  ): Promise<VehicleDto> {
    const scope = tenantScopeOf(ctx);
    assertAcquiredNotInFuture(patch.acquiredAt);
    return this.translated(patch, () =>
      this.transactions.run(scope, async (tx) => {
        const current = await this.lockedVehicle(tx, ctx, ability, 'update', vehicleId);
        if (current.status === 'sold') {
          throw new InventoryError(
            InventoryErrorCode.SoldVehicleLocked,
            'A sold vehicle can no longer be changed',
          );
        }
        if (patch.status && !canMove(current.status, patch.status)) {
          throw new InventoryError(
            InventoryErrorCode.StatusTransition,
            `status: a vehicle that is ${current.status} can become ${allowedNext(current.status).join(' or ') || 'nothing else'}, not ${patch.status}`,
          );
        }
        const changed = (Object.keys(PATCHABLE) as (keyof PatchVehicleDto)[]).filter(
          (field) => patch[field] !== undefined && patch[field] !== current[field as keyof VehicleDto],
        );
        if (changed.length === 0) return current;
        const params: unknown[] = [scope.tenantId, vehicleId];
        const assignments = changed.map((field) => {
          params.push(patch[field]);
          const placeholder = `$${params.length}`;
          return field === 'status'
            ? `status = ${placeholder}, sold_at = case when ${placeholder}::text = 'sold' then current_date end`
            : `${PATCHABLE[field]} = ${placeholder}`;
        });
        await tx.query(
          `update vehicles set ${assignments.join(', ')}, updated_at = now() where tenant_id = $1 and id = $2`,
          params,
        );
        await this.audit.append(tx, ctx, {
          action: 'vehicle.update',
          subjectType: 'Vehicle',
          subjectId: vehicleId,
          storeId: patch.storeId ?? current.storeId,
          changedFields: changed,
        });
        return this.vehicle(tx, vehicleId);
      }),
    );
  }

  /**
   * Deletes the vehicle and its media: rows, the audit event and the objects' deletions in one
   * transaction, then the encrypted objects (retried by the sweep if that fails).
   */
  async remove(ctx: RequestContext, ability: AppAbility, vehicleId: string): Promise<void> {
    const scope = tenantScopeOf(ctx);
    const objectKeys = await this.transactions.run(scope, async (tx) => {
      const current = await this.lockedVehicle(tx, ctx, ability, 'delete', vehicleId);
      if (current.status === 'sold') {
        throw new InventoryError(
          InventoryErrorCode.SoldVehicleLocked,
          'A sold vehicle is kept as the record of its sale',
        );
      }
      const media = await tx.query<{ id: string; object_key: string }>(
        'delete from vehicle_media where tenant_id = $1 and vehicle_id = $2 returning id, object_key',
        [scope.tenantId, vehicleId],
      );
      await tx
        .query('delete from vehicles where tenant_id = $1 and id = $2', [scope.tenantId, vehicleId])
        .catch((error: unknown) => {
          // A deal keeps the vehicle it sells (its foreign key has no cascade): a conflict, not a crash.
          if (error instanceof DatabaseError && error.code === '23503' && error.table === 'deals') {
            throw new InventoryError(
              InventoryErrorCode.VehicleOnDeal,
              'The vehicle is on a deal, which keeps it as its record; cancel or finish the deal instead',
            );
          }
          throw error;
        });
      for (const row of media.rows) await this.deletions.schedule(tx, row.object_key);
      await this.audit.append(tx, ctx, {
        action: 'vehicle.delete',
        subjectType: 'Vehicle',
        subjectId: vehicleId,
        subjectIds: media.rows.map((row) => row.id),
        storeId: current.storeId,
      });
      return media.rows.map((row) => row.object_key);
    });
    await this.deletions.carryOut(scope.tenantId, objectKeys);
  }

  private async lockedVehicle(
    tx: TenantWork,
    ctx: RequestContext,
    ability: AppAbility,
    action: 'update' | 'delete',
    vehicleId: string,
  ): Promise<VehicleDto> {
    const { rows } = await tx.query<VehicleDto>(
      `select ${VEHICLE_COLUMNS} from vehicles v where v.tenant_id = $1 and v.id = $2 for update`,
      [tx.scope.tenantId, vehicleId],
    );
    const vehicle = rows[0];
    if (!vehicle) throw vehicleNotFound();
    await this.rows.assert(ctx, ability, action, 'Vehicle', { tenantId: tx.scope.tenantId!, ...vehicle });
    return vehicle;
  }

  private async vehicle(tx: TenantWork, vehicleId: string): Promise<VehicleDto> {
    const { rows } = await tx.query<VehicleDto>(
      `select ${VEHICLE_COLUMNS} from vehicles v where v.tenant_id = $1 and v.id = $2`,
      [tx.scope.tenantId, vehicleId],
    );
    if (!rows[0]) throw vehicleNotFound();
    return rows[0];
  }

  /** The database's refusals a client can cause, as the 4xx that names the field. */
  private async translated<T>(body: { storeId?: string }, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseError && error.constraint === 'vehicles_vin_unsold') {
        throw new InventoryError(
          InventoryErrorCode.VinInStock,
          "vin: a vehicle with this VIN is already in this group's stock (and not sold)",
        );
      }
      if (error instanceof DatabaseError && error.code === '23503' && body.storeId) {
        throw new InventoryError(InventoryErrorCode.UnknownStore, 'storeId: no such store in this group');
      }
      throw error;
    }
  }
}

function vehicleNotFound(): InventoryError {
  return new InventoryError(InventoryErrorCode.VehicleNotFound, 'No such vehicle');
}

function assertAcquiredNotInFuture(acquiredAt: string | undefined): void {
  if (acquiredAt !== undefined && acquiredAt > new Date().toISOString().slice(0, 10)) {
    throw new InventoryError(InventoryErrorCode.AcquiredInFuture, 'acquiredAt: must not be after today');
  }
}
