import type { TenantWork } from '@forecourt/database';
import { LeadsError, LeadsErrorCode } from './leads-error';

/** Roles that work the sales floor: who may be assigned a lead or a deal. */
const FLOOR_ROLES = ['dealer_admin', 'dealer_manager', 'dealer_sales'];

/**
 * The assignee of a lead or deal must be an active member of the tenant who works the floor in
 * the record's store; otherwise a 400 naming `field`.
 */
export async function assertWorksStore(
  tx: TenantWork,
  userId: string,
  storeId: string,
  field: string,
): Promise<void> {
  const { rows } = await tx.query(
    `select 1 from memberships
      where tenant_id = $1 and user_id = $2 and status = 'active' and role = any($4::text[])
        and (all_stores or $3::uuid = any(store_ids))`,
    [tx.scope.tenantId, userId, storeId, FLOOR_ROLES],
  );
  if (rows.length === 0) {
    throw new LeadsError(LeadsErrorCode.NotAnAssignee, `${field}: not a member who works this store`);
  }
}
