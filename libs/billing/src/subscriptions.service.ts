import { Injectable } from '@nestjs/common';
import { type RequestContext } from '@forecourt/core';
import { TenantTransaction, tenantScopeOf } from '@forecourt/database';
import { BillingError, BillingErrorCode } from './billing-error';
import type { BillingProvider, SubscriptionStatus } from './provider-event';

/** `GET /v1/tenants/:tenantId/billing/subscription`: the state the provider's events produced. */
export interface SubscriptionDto {
  provider: BillingProvider;
  status: SubscriptionStatus;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  plan: string | null;
}

@Injectable()
export class Subscriptions {
  constructor(private readonly transactions: TenantTransaction) {}

  async current(ctx: RequestContext): Promise<SubscriptionDto> {
    const { rows } = await this.transactions.statement<SubscriptionDto>(
      tenantScopeOf(ctx),
      `select provider, status, current_period_end as "currentPeriodEnd",
              cancel_at_period_end as "cancelAtPeriodEnd", plan_code as plan
         from subscriptions where tenant_id = $1`,
      [ctx.tenant!.tenantId],
    );
    const row = rows[0];
    if (!row) throw new BillingError(BillingErrorCode.NoSubscription, 'This tenant has no subscription yet');
    return row;
  }
}
