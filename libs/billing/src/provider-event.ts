/** The states of a subscription, whichever provider reports them. */
export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'cancelled' | 'unpaid';

export type BillingProvider = 'stripe' | 'razorpay';

/** A subscription as a provider event states it, whole (providers send the object, not a diff). */
export interface SubscriptionState {
  kind: 'subscription';
  providerSubscriptionId: string;
  providerCustomerId: string | null;
  status: SubscriptionStatus;
  planCode: string | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

/** An invoice as metadata: what it is for and where the provider shows it, never how it was paid. */
export interface InvoiceState {
  kind: 'invoice';
  providerInvoiceId: string;
  amountMinor: number;
  currency: string;
  status: string;
  hostedInvoiceUrl: string | null;
  issuedAt: Date;
}

/** A verified provider event, read into what Forecourt keeps of it. */
export interface ProviderEvent {
  provider: BillingProvider;
  id: string;
  type: string;
  /** The provider's time of the event: what orders deliveries that arrive out of order. */
  createdAt: Date;
  /** The tenant the provider object names (metadata Forecourt set), when it names one. */
  tenantId: string | null;
  /** What the event says about a subscription or an invoice; null for a type Forecourt does not act on. */
  state: SubscriptionState | InvoiceState | null;
  /** The event as received, kept with it. */
  payload: unknown;
}
