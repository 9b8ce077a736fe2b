import { Injectable } from '@nestjs/common';
import { AuditTrail, PLATFORM_CHAIN } from '@forecourt/audit';
import { newId } from '@forecourt/core';
import { type TenantWork, TenantTransaction } from '@forecourt/database';
import type { InvoiceState, ProviderEvent, SubscriptionState } from './provider-event';

/** What receiving an event did. */
export type EventOutcome = 'applied' | 'stale' | 'ignored' | 'unknown_tenant' | 'duplicate';

/**
 * Verified provider events into billing state. Each event is handled once, in one transaction
 * with its record and its audit event:
 *
 * - stored in `billing_events` under its tenant (a replay meets the stored one and changes
 *   nothing; concurrent deliveries of one event wait on its unique key, and only the first acts);
 * - about a tenant Forecourt does not know: stored in the platform's rows, not acted on;
 * - its subscription or invoice state applied unless the row already holds state from a later
 *   provider time (an older event delivered late is stored as `stale`);
 * - a type Forecourt does not act on: stored and acknowledged (`ignored`).
 */
@Injectable()
export class BillingEvents {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
  ) {}

  async receive(event: ProviderEvent): Promise<EventOutcome> {
    const tenantId =
      event.tenantId !== null && (await this.tenantExists(event.tenantId)) ? event.tenantId : null;
    return this.transactions.run({ tenantId: tenantId ?? PLATFORM_CHAIN, stores: 'all' }, async (tx) => {
      const outcome: Exclude<EventOutcome, 'duplicate'> = !tenantId
        ? 'unknown_tenant'
        : !event.state
          ? 'ignored'
          : (await this.isNewer(tx, event))
            ? 'applied'
            : 'stale';
      const { rows } = await tx.query(
        `insert into billing_events (tenant_id, id, provider, provider_event_id, type, provider_created_at, payload, outcome)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (tenant_id, provider, provider_event_id) do nothing returning id`,
        [
          tx.scope.tenantId,
          newId(),
          event.provider,
          event.id,
          event.type,
          event.createdAt,
          JSON.stringify(event.payload),
          outcome,
        ],
      );
      if (rows.length === 0) return 'duplicate';
      if (outcome === 'applied' && event.state?.kind === 'subscription')
        await this.applySubscription(tx, event, event.state);
      if (outcome === 'applied' && event.state?.kind === 'invoice')
        await this.applyInvoice(tx, event, event.state);
      await this.trail.append(tx, null, {
        action: 'billing.event',
        subjectType: event.state?.kind === 'invoice' ? 'Invoice' : 'Subscription',
        outcome: 'allowed',
        reason: `${event.provider} ${event.type}: ${outcome}`.slice(0, 200),
      });
      return outcome;
    });
  }

  private async tenantExists(tenantId: string): Promise<boolean> {
    const { rows } = await this.transactions.statement(
      { tenantId, stores: 'all' },
      "select 1 from tenants where id = $1 and status <> 'deleted'",
      [tenantId],
    );
    return rows.length > 0;
  }

  /** Whether the event is at least as new as the state the row holds (locking the row). */
  private async isNewer(tx: TenantWork, event: ProviderEvent): Promise<boolean> {
    const state = event.state!;
    const { rows } =
      state.kind === 'subscription'
        ? await tx.query<{ at: Date }>(
            `select provider_updated_at as at from subscriptions where tenant_id = $1 for update`,
            [tx.scope.tenantId],
          )
        : await tx.query<{ at: Date }>(
            `select provider_updated_at as at from invoices
              where tenant_id = $1 and provider = $2 and provider_invoice_id = $3 for update`,
            [tx.scope.tenantId, event.provider, state.providerInvoiceId],
          );
    return rows.length === 0 || rows[0]!.at.getTime() <= event.createdAt.getTime();
  }

  private async applySubscription(
    tx: TenantWork,
    event: ProviderEvent,
    state: SubscriptionState,
  ): Promise<void> {
    await tx.query(
      `insert into subscriptions as s (tenant_id, id, provider, provider_customer_id, provider_subscription_id, status,
         plan_code, current_period_end, cancel_at_period_end, past_due_since, cancelled_at, provider_updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
         case when $6 in ('past_due', 'unpaid') then $10::timestamptz end, case when $6 = 'cancelled' then $10::timestamptz end, $10)
       on conflict (tenant_id) do update set
         provider = excluded.provider,
         provider_customer_id = coalesce(excluded.provider_customer_id, s.provider_customer_id),
         provider_subscription_id = excluded.provider_subscription_id,
         status = excluded.status,
         plan_code = coalesce(excluded.plan_code, s.plan_code),
         current_period_end = excluded.current_period_end,
         cancel_at_period_end = excluded.cancel_at_period_end,
         -- When the subscription first fell behind, kept while it stays behind, past due or unpaid
         -- (the grace window before the tenant becomes read-only runs from it).
         past_due_since = case when excluded.status in ('past_due', 'unpaid')
                               then coalesce(s.past_due_since, excluded.past_due_since) end,
         cancelled_at = case when excluded.status = 'cancelled' then coalesce(s.cancelled_at, excluded.cancelled_at) end,
         provider_updated_at = excluded.provider_updated_at,
         updated_at = now()`,
      [
        tx.scope.tenantId,
        newId(),
        event.provider,
        state.providerCustomerId,
        state.providerSubscriptionId,
        state.status,
        state.planCode,
        state.currentPeriodEnd,
        state.cancelAtPeriodEnd,
        event.createdAt,
      ],
    );
    await this.followOnTenant(tx, event, state);
  }

  /**
   * The tenant follows its subscription: its plan and paid-up period, and a cancellation. A
   * cancelled subscription marks the tenant `cancelled` with `cancelled_at`; its access runs to
   * the end of the period paid for (`billing_period_end`), and what follows (grace, deletion) is
   * the tenant lifecycle's. A later live subscription takes a billing cancellation back.
   */
  private async followOnTenant(
    tx: TenantWork,
    event: ProviderEvent,
    state: SubscriptionState,
  ): Promise<void> {
    await tx.query(
      `update tenants set
         plan = coalesce($2, plan),
         billing_period_end = $3,
         status = case when $4 then (case when status = 'grace' then status else 'cancelled' end)
                       when status in ('cancelled', 'grace') then 'active' else status end,
         cancelled_at = case when $4 then coalesce(cancelled_at, $5) when status in ('cancelled', 'grace') then null
                             else cancelled_at end,
         updated_at = now()
       where id = $1 and status <> 'deleted'`,
      [
        tx.scope.tenantId,
        state.planCode,
        state.currentPeriodEnd,
        state.status === 'cancelled',
        event.createdAt,
      ],
    );
  }

  private async applyInvoice(tx: TenantWork, event: ProviderEvent, state: InvoiceState): Promise<void> {
    await tx.query(
      `insert into invoices as i (tenant_id, id, provider, provider_invoice_id, amount_minor, currency, status,
         hosted_invoice_url, issued_at, provider_updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       on conflict (tenant_id, provider, provider_invoice_id) do update set
         amount_minor = excluded.amount_minor, currency = excluded.currency, status = excluded.status,
         hosted_invoice_url = excluded.hosted_invoice_url, provider_updated_at = excluded.provider_updated_at`,
      [
        tx.scope.tenantId,
        newId(),
        event.provider,
        state.providerInvoiceId,
        state.amountMinor,
        state.currency,
        state.status.slice(0, 40),
        state.hostedInvoiceUrl,
        state.issuedAt,
        event.createdAt,
      ],
    );
  }
}
