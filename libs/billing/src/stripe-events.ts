import Stripe from 'stripe';
import { BillingError, BillingErrorCode } from './billing-error';
import { fields, type Fields, invoiceStateOf, numberOf, tenantIdAmong, text } from './provider-fields';
import type { InvoiceState, ProviderEvent, SubscriptionState, SubscriptionStatus } from './provider-event';

/** Stripe's signature timestamps older than this are refused (Stripe's own default). */
const TOLERANCE_SECONDS = 300;

/**
 * Stripe's subscription statuses in Forecourt's terms. `incomplete` (the first payment has not
 * gone through) counts as unpaid, `paused` (collection paused, no access promised) as past due,
 * and `incomplete_expired` as cancelled: Stripe will never charge it.
 */
const STATUSES: Record<string, SubscriptionStatus> = {
  trialing: 'trialing',
  active: 'active',
  past_due: 'past_due',
  unpaid: 'unpaid',
  incomplete: 'unpaid',
  paused: 'past_due',
  canceled: 'cancelled',
  incomplete_expired: 'cancelled',
};

/**
 * Verifies a Stripe webhook with the official SDK (the signature over the raw body, with a
 * timestamp no older than five minutes) and reads it. Throws a 400 `BillingError` for anything
 * that does not verify; never acts on an unverified byte.
 */
export function verifiedStripeEvent(
  rawBody: Buffer,
  signature: string | undefined,
  secret: string,
): ProviderEvent {
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature ?? '', secret, TOLERANCE_SECONDS);
  } catch {
    // The SDK's message may quote the header; the answer names the rule, nothing more.
    throw new BillingError(
      BillingErrorCode.BadSignature,
      'The Stripe-Signature header does not verify (wrong secret, altered body or stale timestamp)',
    );
  }
  return readStripeEvent(event);
}

function readStripeEvent(event: Stripe.Event): ProviderEvent {
  const object = fields(event.data?.object);
  if (!text(event.id) || !text(event.type, 200) || typeof event.created !== 'number')
    throw new BillingError(
      BillingErrorCode.MalformedEvent,
      'The event lacks an id, a type or a time that fits',
    );
  return {
    provider: 'stripe',
    id: event.id,
    type: event.type,
    createdAt: new Date(event.created * 1000),
    tenantId: tenantNamedBy(object),
    state: event.type.startsWith('customer.subscription.')
      ? subscriptionState(event.type, object)
      : event.type.startsWith('invoice.')
        ? invoiceState(object)
        : null,
    payload: event,
  };
}

function subscriptionState(type: string, object: Fields): SubscriptionState | null {
  const id = text(object.id);
  const status = STATUSES[text(object.status) ?? ''];
  if (!id || !status) return null;
  const items = fields(object.items).data;
  const item = fields(Array.isArray(items) ? (items as unknown[])[0] : undefined);
  const periodEnd = numberOf(object.current_period_end) ?? numberOf(item.current_period_end);
  return {
    kind: 'subscription',
    providerSubscriptionId: id,
    providerCustomerId: text(object.customer) ?? text(fields(object.customer).id),
    status: type === 'customer.subscription.deleted' ? 'cancelled' : status,
    planCode: text(fields(object.metadata).plan_code, 100) ?? text(fields(item.price).lookup_key, 100),
    currentPeriodEnd: periodEnd === null ? null : new Date(periodEnd * 1000),
    cancelAtPeriodEnd: object.cancel_at_period_end === true,
  };
}

function invoiceState(object: Fields): InvoiceState | null {
  return invoiceStateOf({
    id: object.id,
    amountMinor: numberOf(object.amount_due) ?? object.total,
    currency: object.currency,
    createdSeconds: object.created,
    status: object.status,
    hostedInvoiceUrl: object.hosted_invoice_url,
  });
}

/**
 * The tenant a Stripe object names: `metadata.tenant_id`, which Forecourt sets on the customer
 * and subscription it creates; an invoice carries its subscription's metadata.
 */
function tenantNamedBy(object: Fields): string | null {
  const candidates = [
    fields(object.metadata).tenant_id,
    fields(object.subscription_details).metadata,
    fields(fields(object.parent).subscription_details).metadata,
  ].map((value, index) => (index === 0 ? value : fields(value).tenant_id));
  return tenantIdAmong(candidates);
}
