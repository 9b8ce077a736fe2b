export { BillingError, BillingErrorCode } from './billing-error';
export { BillingEvents, type EventOutcome } from './billing-events';
export { BillingModule } from './billing.module';
export type { BillingProvider, ProviderEvent, SubscriptionStatus } from './provider-event';
export { verifiedRazorpayEvent } from './razorpay-events';
export { verifiedStripeEvent } from './stripe-events';
