import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
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
  /**
   * Set while the subscription is behind on payment: when the tenant becomes (or became)
   * read-only unless it is settled first — the warning a dealer's screens show.
   */
  readOnlyFrom: string | null;
}

@Injectable()
export class Subscriptions {
  constructor(
    private readonly transactions: TenantTransaction,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async current(ctx: RequestContext): Promise<SubscriptionDto> {
    const { rows } = await this.transactions.statement<SubscriptionDto>(
      tenantScopeOf(ctx),
      `select provider, status, current_period_end as "currentPeriodEnd",
              cancel_at_period_end as "cancelAtPeriodEnd", plan_code as plan,
              case when status in ('past_due', 'unpaid') then past_due_since + make_interval(days => $2) end
                as "readOnlyFrom"
         from subscriptions where tenant_id = $1`,
      [ctx.tenant!.tenantId, this.config.billingGraceDays],
    );
    const row = rows[0];
    if (!row) throw new BillingError(BillingErrorCode.NoSubscription, 'This tenant has no subscription yet');
    return row;
  }
}
