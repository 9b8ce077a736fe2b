import { Inject, Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { AuditTrail } from '@forecourt/audit';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { type RequestContext } from '@forecourt/core';
import { TenantTransaction, tenantScopeOf } from '@forecourt/database';
import { BillingError, BillingErrorCode } from './billing-error';
import type { OpenPortalDto, PortalLinkDto } from './portal-session.dto';
import type { BillingProvider } from './provider-event';
import { STRIPE_CLIENT } from './stripe-client';

interface PortalSubscription {
  provider: BillingProvider;
  customerId: string | null;
}

/**
 * `POST /v1/tenants/:tenantId/billing/portal`: a link to the provider's hosted billing page for
 * the tenant's customer, where the admin changes card, plan or cancels. Forecourt only asks for
 * the link; what the admin does there comes back as webhooks.
 */
@Injectable()
export class BillingPortal {
  private readonly logger = new Logger('BillingPortal');

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STRIPE_CLIENT) private readonly stripe: Stripe | null,
  ) {}

  async open(ctx: RequestContext, dto: OpenPortalDto): Promise<PortalLinkDto> {
    const tenantId = ctx.tenant!.tenantId;
    const customerId = this.customerOf(await this.subscriptionOf(ctx, tenantId));
    if (!this.stripe)
      throw new BillingError(
        BillingErrorCode.ProviderNotConfigured,
        'Stripe is not configured here (STRIPE_SECRET_KEY is unset); the billing portal is unavailable',
      );
    const url = await this.stripeSession(this.stripe, customerId, dto.returnUrl ?? this.config.publicUrl);
    // Opening the page changes nothing here (changes arrive as webhooks), so it is recorded as a read.
    await this.trail.record(ctx, tenantId, {
      action: 'billing.portal.open',
      subjectType: 'Subscription',
      outcome: 'allowed',
      reason: 'stripe',
    });
    return { url };
  }

  private async subscriptionOf(ctx: RequestContext, tenantId: string): Promise<PortalSubscription> {
    const { rows } = await this.transactions.statement<PortalSubscription>(
      tenantScopeOf(ctx),
      `select provider, provider_customer_id as "customerId" from subscriptions where tenant_id = $1`,
      [tenantId],
    );
    const row = rows[0];
    if (!row)
      throw new BillingError(
        BillingErrorCode.NoSubscription,
        'This tenant has no subscription yet, so there is no billing portal to open',
      );
    return row;
  }

  /** The rules before any call to a provider: which provider, and whether it knows the customer. */
  private customerOf(subscription: PortalSubscription): string {
    switch (subscription.provider) {
      case 'razorpay':
        throw new BillingError(
          BillingErrorCode.NoHostedPortal,
          "Razorpay has no hosted portal; this tenant's subscription is managed through Forecourt support",
        );
      case 'stripe':
        if (!subscription.customerId)
          throw new BillingError(
            BillingErrorCode.NoProviderCustomer,
            "This tenant's subscription has no Stripe customer yet, so there is no billing portal to open",
          );
        return subscription.customerId;
    }
  }

  private async stripeSession(stripe: Stripe, customer: string, returnUrl: string): Promise<string> {
    try {
      const session = await stripe.billingPortal.sessions.create({ customer, return_url: returnUrl });
      return session.url;
    } catch (error) {
      // Stripe's message can quote the request (the customer id, a key's prefix): only its kind
      // and Stripe's request id are logged, and the caller learns nothing of it.
      if (error instanceof Stripe.errors.StripeError) {
        this.logger.warn(
          `Stripe billing portal session failed: ${error.type} (status ${error.statusCode ?? 'none'}, request ${error.requestId ?? 'none'})`,
        );
      } else {
        this.logger.warn('Stripe billing portal session failed outside the SDK');
      }
      throw new BillingError(
        BillingErrorCode.ProviderUnavailable,
        'Stripe could not open a billing portal session; try again later',
      );
    }
  }
}
