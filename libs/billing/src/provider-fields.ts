import { isUuid } from '@forecourt/core';
import type { InvoiceState } from './provider-event';

/**
 * Defensive readers for provider payloads, shared by the Stripe and Razorpay readers: a verified
 * event is still the provider's JSON, so every field is read for the type it must have and
 * anything else counts as absent instead of being trusted.
 */
export type Fields = Record<string, unknown>;

export function fields(value: unknown): Fields {
  return value !== null && typeof value === 'object' ? (value as Fields) : {};
}

/**
 * A non-empty string of at most `max` characters (the column it goes into); anything longer
 * counts as absent, so a provider value that would not fit is dropped instead of failing the
 * event's transaction (and the provider retrying it forever).
 */
export function text(value: unknown, max = 255): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;
}

/** An ISO 4217 currency code, upper-cased as stored; else null. */
export function currencyOf(value: unknown): string | null {
  return typeof value === 'string' && /^[a-z]{3}$/i.test(value) ? value.toUpperCase() : null;
}

export function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The first candidate that is a tenant id (a UUID), lower-cased as tenants are stored; else null. */
export function tenantIdAmong(candidates: unknown[]): string | null {
  const named = candidates.find((value): value is string => typeof value === 'string');
  return named && isUuid(named) ? named.toLowerCase() : null;
}

/**
 * An invoice from the provider's own fields (an amount already in minor units, a time in unix
 * seconds), or null when one it needs is missing or is not what it must be.
 */
export function invoiceStateOf(raw: {
  id: unknown;
  amountMinor: unknown;
  currency: unknown;
  createdSeconds: unknown;
  status: unknown;
  hostedInvoiceUrl: unknown;
}): InvoiceState | null {
  const id = text(raw.id);
  const amount = numberOf(raw.amountMinor);
  const currency = currencyOf(raw.currency);
  const created = numberOf(raw.createdSeconds);
  if (!id || amount === null || !Number.isInteger(amount) || amount < 0 || !currency || created === null)
    return null;
  return {
    kind: 'invoice',
    providerInvoiceId: id,
    amountMinor: amount,
    currency,
    status: text(raw.status) ?? 'unknown',
    hostedInvoiceUrl: text(raw.hostedInvoiceUrl, 2000),
    issuedAt: new Date(created * 1000),
  };
}
