import type { TenantStatus } from './tenant.entity';

/** How long a cancelled tenant stays readable after its paid period, before its deletion. */
export const GRACE_DAYS = 30;

export interface TenantLifecycleDates {
  status: string;
  accessUntil: Date | null;
  deleteAfter: Date | null;
}

/**
 * Where a tenant stands at `now`. The stored status says `cancelled` from the cancellation on;
 * the dates say when that turns into grace (access over: read-only) and when deletion is due,
 * so the answer is right between the daily runs that move the stored status along.
 */
export function lifecycleStateOf(tenant: TenantLifecycleDates, now: Date): TenantStatus {
  const status = tenant.status as TenantStatus;
  if (status !== 'cancelled') return status;
  return tenant.accessUntil !== null && tenant.accessUntil <= now ? 'grace' : 'cancelled';
}
