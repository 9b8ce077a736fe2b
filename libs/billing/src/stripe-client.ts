import type { Provider } from '@nestjs/common';
import Stripe from 'stripe';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';

/** The Stripe SDK client for API calls; null when `STRIPE_SECRET_KEY` is unset. */
export const STRIPE_CLIENT = Symbol('STRIPE_CLIENT');

/**
 * One retry, not the SDK's two: someone is waiting on the answer, and a portal session is cheap
 * to ask for again. The SDK adds an idempotency key to the retried POST.
 */
const MAX_NETWORK_RETRIES = 1;
/** The SDK's default is 80 s; a person clicking "manage billing" gives up well before. */
const TIMEOUT_MS = 20_000;

export function stripeClient(config: AppConfig): Stripe | null {
  if (!config.stripeSecretKey) return null;
  return new Stripe(config.stripeSecretKey, {
    maxNetworkRetries: MAX_NETWORK_RETRIES,
    timeout: TIMEOUT_MS,
    // Forecourt's usage is nobody else's business.
    telemetry: false,
    ...(config.stripeApi ?? {}),
  });
}

export const stripeClientProvider: Provider = {
  provide: STRIPE_CLIENT,
  inject: [APP_CONFIG],
  useFactory: stripeClient,
};
