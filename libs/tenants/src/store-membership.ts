import { type TenantWork } from '@forecourt/database';
import { TenantError, TenantErrorCode } from './tenant-error';

/** Refuses a store scope naming a store the transaction's tenant does not have. */
export async function assertStoresOfTenant(tx: TenantWork, storeIds: readonly string[]): Promise<void> {
  if (storeIds.length === 0) return;
  const known = await tx.query('select 1 from stores where tenant_id = $1 and id = any($2::uuid[])', [
    tx.scope.tenantId,
    storeIds,
  ]);
  if (known.rowCount !== new Set(storeIds).size) {
    throw new TenantError(TenantErrorCode.UnknownStore, 'storeIds: not every store belongs to this tenant');
  }
}
