import { isUuid } from '@forecourt/core';

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
