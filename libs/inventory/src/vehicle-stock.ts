import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import type { RequestContext } from '@forecourt/core';
import type { TenantWork } from '@forecourt/database';
import { InventoryError, InventoryErrorCode } from './inventory-error';
import { canMove, type VehicleStatus } from './vehicle-status';

/**
 * A vehicle's stock status as other parts of the business move it — a deal signed reserves it,
 * a delivery sells it — always inside the caller's transaction, under a lock on the vehicle row,
 * by the same transition rules as a direct change, and recorded like one.
 */
@Injectable()
export class VehicleStock {
  constructor(private readonly audit: AuditTrail) {}

  /** Locks the vehicle (visible in the caller's stores) until the transaction ends; its status. */
  async lock(tx: TenantWork, vehicleId: string): Promise<{ status: VehicleStatus; storeId: string }> {
    const { rows } = await tx.query<{ status: VehicleStatus; storeId: string }>(
      'select status, store_id as "storeId" from vehicles where tenant_id = $1 and id = $2 for update',
      [tx.scope.tenantId, vehicleId],
    );
    if (!rows[0])
      throw new InventoryError(
        InventoryErrorCode.VehicleNotFound,
        'vehicleId: no such vehicle in your stores',
      );
    return rows[0];
  }

  /** Moves the (locked) vehicle to `to`; `reason` says what moved it (e.g. `deal signed`). */
  async move(
    tx: TenantWork,
    ctx: RequestContext,
    vehicleId: string,
    to: VehicleStatus,
    reason: string,
  ): Promise<void> {
    const { status, storeId } = await this.lock(tx, vehicleId);
    if (status === to) return;
    if (!canMove(status, to)) {
      throw new InventoryError(
        InventoryErrorCode.StatusTransition,
        `vehicleId: the vehicle is ${status.replace('_', ' ')} and cannot become ${to.replace('_', ' ')}`,
      );
    }
    await tx.query(
      `update vehicles set status = $3, sold_at = case when $3::text = 'sold' then current_date end, updated_at = now()
        where tenant_id = $1 and id = $2`,
      [tx.scope.tenantId, vehicleId, to],
    );
    await this.audit.append(tx, ctx, {
      action: 'vehicle.update',
      subjectType: 'Vehicle',
      subjectId: vehicleId,
      storeId,
      changedFields: ['status'],
      reason,
    });
  }
}
