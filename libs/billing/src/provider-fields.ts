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

export function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The first candidate that is a tenant id (a UUID), lower-cased as tenants are stored; else null. */
export function tenantIdAmong(candidates: unknown[]): string | null {
  const named = candidates.find((value): value is string => typeof value === 'string');
  return named && isUuid(named) ? named.toLowerCase() : null;
}
