import { isUuid, type RequestContext } from '@forecourt/core';

/**
 * Whose data a unit of work may touch. It is built only from the verified session and its
 * membership, never from headers, body or query.
 */
export interface TenantScope {
  /** null: no tenant — a user acting on their own rows (sign-in, sessions) and nothing else. */
  readonly tenantId: string | null;
  /** 'all': every store of the tenant; otherwise exactly these stores (possibly none). */
  readonly stores: 'all' | readonly string[];
  /** The acting user, when there is one (lets a user read their own global user row). */
  readonly userId?: string | null;
}

export class TenantScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantScopeError';
  }
}

/** The values the transaction binds for `app.tenant_id`, `app.store_ids` and `app.user_id`. */
export interface ScopeSettings {
  tenantId: string;
  storeIds: string;
  userId: string;
}

/**
 * Validates a scope and renders its settings. Every id must be a UUID: the values are bound as
 * parameters anyway, and refusing anything else here means a malformed scope fails loudly
 * instead of matching nothing (or, worse, something).
 */
export function scopeSettings(scope: TenantScope): ScopeSettings {
  if (scope.tenantId === null) {
    if (!isUuid(scope.userId)) throw new TenantScopeError('a scope without a tenant must act as a user');
  } else if (!isUuid(scope.tenantId)) {
    throw new TenantScopeError('tenantId must be a UUID');
  }
  if (scope.userId != null && !isUuid(scope.userId)) throw new TenantScopeError('userId must be a UUID');
  let storeIds: string;
  if (scope.stores === 'all') {
    storeIds = '*';
  } else if (scope.tenantId === null) {
    storeIds = '';
  } else if (Array.isArray(scope.stores)) {
    const stores: readonly unknown[] = scope.stores;
    if (!stores.every(isUuid)) throw new TenantScopeError('every store id must be a UUID');
    storeIds = `{${stores.join(',')}}`;
  } else {
    throw new TenantScopeError("stores must be 'all' or a list of store ids");
  }
  return { tenantId: scope.tenantId?.toLowerCase() ?? '', storeIds, userId: scope.userId ?? '' };
}

/** The scope of a request that passed the access guard: its tenant, stores and user. */
export function tenantScopeOf(ctx: RequestContext): TenantScope & { tenantId: string } {
  if (!ctx.tenant || !ctx.principal) throw new TenantScopeError('the request has no verified tenant access');
  return { tenantId: ctx.tenant.tenantId, stores: ctx.tenant.stores, userId: ctx.principal.userId };
}
