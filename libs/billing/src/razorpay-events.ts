import Razorpay from 'razorpay';
import { BillingError, BillingErrorCode } from './billing-error';
import { fields, type Fields, invoiceStateOf, numberOf, tenantIdAmong, text } from './provider-fields';
import type { InvoiceState, ProviderEvent, SubscriptionState, SubscriptionStatus } from './provider-event';

/**
 * Razorpay's subscription statuses in Forecourt's terms.
 *
 * - `authenticated`: the customer has authorised the mandate and the first charge waits for the
 *   subscription's start (Razorpay's way of offering a free trial is a later `start_at`), so it is
 *   `trialing`.
 * - `created`: no mandate and no payment yet, like Stripe's `incomplete`, so `unpaid`.
 * - `pending`: a charge failed and Razorpay is retrying, so `past_due`; `halted`: the retries
 *   are exhausted, so `unpaid`; `paused` (no charges, no access promised) is `past_due` as for
 *   Stripe.
 * - `cancelled`, `completed` (every cycle billed) and `expired` (never authorised in time) will
 *   never be charged again: `cancelled`.
 */
const STATUSES: Record<string, SubscriptionStatus> = {
  created: 'unpaid',
  authenticated: 'trialing',
  active: 'active',
  pending: 'past_due',
  halted: 'unpaid',
  paused: 'past_due',
  cancelled: 'cancelled',
  completed: 'cancelled',
  expired: 'cancelled',
};

/** The invoice events Forecourt keeps an invoice from; other `invoice.*` types are ignored. */
const INVOICE_TYPES = new Set(['invoice.paid', 'invoice.partially_paid', 'invoice.expired']);

/** What the `billing_events.provider_event_id` column holds at most. */
const MAX_EVENT_ID_LENGTH = 255;

/** Refuses bytes that are not UTF-8 rather than letting a decoder replace them (see below). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies a Razorpay webhook with the official SDK (`Razorpay.validateWebhookSignature`, the
 * HMAC-SHA256 of the raw body under the webhook secret, sent in `X-Razorpay-Signature`) and reads
 * it. Throws a 400 `BillingError` for anything that does not verify; never acts on an unverified
 * byte.
 *
 * The SDK checks the body as a string, so the raw bytes are decoded once, strictly, and that same
 * string is both verified and parsed: a body that is not UTF-8 could otherwise decode to the
 * string of a signed body while its bytes differ.
 *
 * Razorpay names the event in the `x-razorpay-event-id` header, which the signature does not
 * cover: a replayed body under another id is stored once more, but its state is the same and the
 * provider time it carries still orders it, so it cannot undo a newer event.
 */
export function verifiedRazorpayEvent(
  rawBody: Buffer,
  signature: string | undefined,
  eventId: string | undefined,
  secret: string,
): ProviderEvent {
  let body: string;
  let verified: boolean;
  try {
    body = UTF8.decode(rawBody);
    verified = typeof signature === 'string' && Razorpay.validateWebhookSignature(body, signature, secret);
  } catch {
    verified = false;
    body = '';
  }
  if (!verified)
    throw new BillingError(
      BillingErrorCode.BadSignature,
      'The X-Razorpay-Signature header does not verify (wrong secret or altered body)',
    );
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new BillingError(BillingErrorCode.MalformedEvent, 'The event must be a JSON body');
  }
  return readRazorpayEvent(fields(event), eventId);
}

function readRazorpayEvent(event: Fields, eventId: string | undefined): ProviderEvent {
  const id = typeof eventId === 'string' ? eventId.trim() : '';
  const type = text(event.event);
  const created = numberOf(event.created_at);
  if (!id || id.length > MAX_EVENT_ID_LENGTH || !type || created === null)
    throw new BillingError(
      BillingErrorCode.MalformedEvent,
      'The event lacks an id (x-razorpay-event-id), a type or a time',
    );
  const payload = fields(event.payload);
  const subscription = fields(fields(payload.subscription).entity);
  const invoice = fields(fields(payload.invoice).entity);
  const payment = fields(fields(payload.payment).entity);
  return {
    provider: 'razorpay',
    id,
    type,
    createdAt: new Date(created * 1000),
    tenantId: tenantIdAmong([subscription, invoice, payment].map((entity) => fields(entity.notes).tenant_id)),
    state: type.startsWith('subscription.')
      ? subscriptionState(subscription)
      : INVOICE_TYPES.has(type)
        ? invoiceState(invoice)
        : null,
    payload: event,
  };
}

function subscriptionState(entity: Fields): SubscriptionState | null {
  const id = text(entity.id);
  const status = STATUSES[text(entity.status) ?? ''];
  if (!id || !status) return null;
  const periodEnd = numberOf(entity.current_end);
  return {
    kind: 'subscription',
    providerSubscriptionId: id,
    providerCustomerId: text(entity.customer_id),
    status,
    planCode: text(fields(entity.notes).plan_code, 100) ?? text(entity.plan_id, 100),
    currentPeriodEnd: periodEnd === null ? null : new Date(periodEnd * 1000),
    // Razorpay's subscription entity does not say whether a cancellation waits for the cycle's end.
    cancelAtPeriodEnd: false,
  };
}

function invoiceState(entity: Fields): InvoiceState | null {
  // Razorpay amounts are already in the currency's minor unit (paise for INR).
  return invoiceStateOf({
    id: entity.id,
    amountMinor: entity.amount,
    currency: entity.currency,
    createdSeconds: entity.created_at,
    status: entity.status,
    hostedInvoiceUrl: entity.short_url,
  });
}
