import { Injectable } from '@nestjs/common';
import { TenantTransaction, TenantWork } from './tenant-transaction';

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
}
