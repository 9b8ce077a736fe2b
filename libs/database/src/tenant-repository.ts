import { Injectable } from '@nestjs/common';
import { TenantTransaction, TenantTransactionRequiredError, TenantWork } from './tenant-transaction';

/**
 * Base of every repository over tenant tables. It has no connection of its own: each method
 * reaches the database through the tenant transaction open in the caller's context, and fails
 * with `TenantTransactionRequiredError` when there is none — never silently on another pooled
 * connection without a tenant.
 */
// @Injectable() records the constructor's parameter types, which subclasses inherit.
@Injectable()
export abstract class TenantRepository {
  constructor(private readonly transactions: TenantTransaction) {}

  protected get tx(): TenantWork {
    return this.transactions.current();
  }

  /** The open transaction's tenant; a transaction acting only as a user has none to offer. */
  protected get tenantId(): string {
    const tenantId = this.tx.scope.tenantId;
    if (tenantId === null) throw new TenantTransactionRequiredError();
    return tenantId;
  }
}
