import { assertNever, DomainError } from '@forecourt/core';

export enum BillingErrorCode {
  WebhookNotConfigured = 'billing.webhook_not_configured',
  BadSignature = 'billing.bad_signature',
  MalformedEvent = 'billing.malformed_event',
  NoSubscription = 'billing.no_subscription',
  NoPlan = 'billing.no_plan',
  PlanExists = 'billing.plan_exists',
  NoProviderCustomer = 'billing.no_provider_customer',
  NoHostedPortal = 'billing.no_hosted_portal',
  ProviderNotConfigured = 'billing.provider_not_configured',
  ProviderUnavailable = 'billing.provider_unavailable',
}

export class BillingError extends DomainError<BillingErrorCode> {
  constructor(code: BillingErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case BillingErrorCode.WebhookNotConfigured:
      case BillingErrorCode.ProviderNotConfigured:
        return 503;
      case BillingErrorCode.ProviderUnavailable:
        return 502;
      case BillingErrorCode.NoProviderCustomer:
      case BillingErrorCode.NoHostedPortal:
        return 409;
      case BillingErrorCode.BadSignature:
      case BillingErrorCode.MalformedEvent:
        return 400;
      case BillingErrorCode.NoSubscription:
      case BillingErrorCode.NoPlan:
        return 404;
      case BillingErrorCode.PlanExists:
        return 409;
      default:
        return assertNever(this.code);
    }
  }
}
