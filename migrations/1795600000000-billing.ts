import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing, as the payment providers report it: plans (the platform's, not a tenant's), one
 * subscription per tenant, invoices as metadata, and every verified provider event. No card data
 * has a column here: the provider holds the card, Forecourt keeps provider ids and state.
 *
 * A provider event is stored once per tenant (`billing_events_once`): a replay finds it and
 * changes nothing. `provider_updated_at` on a subscription or invoice is the provider time of the
 * event that set it, so an older event delivered late never overwrites newer state. Events about
 * a tenant Forecourt does not know are kept in the platform's rows (the all-zero tenant id), not
 * acted on. The runtime role may add events, never change or remove them.
 */
export class Billing1795600000000 implements MigrationInterface {
  name = 'Billing1795600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table plans (
        id uuid primary key,
        code text not null unique check (code ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
        name text not null check (length(name) between 1 and 100),
        price_per_store_minor bigint not null check (price_per_store_minor >= 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        max_stores integer check (max_stores > 0),
        max_users integer check (max_users > 0),
        created_at timestamptz not null default now()
      )`);
    await db.query(`
      create table subscriptions (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        provider text not null check (provider in ('stripe', 'razorpay')),
        provider_customer_id text check (length(provider_customer_id) <= 255),
        provider_subscription_id text not null check (length(provider_subscription_id) <= 255),
        status text not null check (status in ('trialing', 'active', 'past_due', 'cancelled', 'unpaid')),
        plan_code text check (length(plan_code) <= 100),
        current_period_end timestamptz,
        cancel_at_period_end boolean not null default false,
        past_due_since timestamptz,
        cancelled_at timestamptz,
        provider_updated_at timestamptz not null,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        constraint subscriptions_one_per_tenant unique (tenant_id)
      )`);
    await db.query(`
      create table invoices (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        provider text not null check (provider in ('stripe', 'razorpay')),
        provider_invoice_id text not null check (length(provider_invoice_id) <= 255),
        amount_minor bigint not null check (amount_minor >= 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        status text not null check (length(status) between 1 and 40),
        hosted_invoice_url text check (length(hosted_invoice_url) <= 2000),
        issued_at timestamptz not null,
        provider_updated_at timestamptz not null,
        primary key (tenant_id, id),
        constraint invoices_once unique (tenant_id, provider, provider_invoice_id)
      )`);
    await db.query(`create index invoices_by_time on invoices (tenant_id, issued_at, id)`);
    await db.query(`
      create table billing_events (
        tenant_id uuid not null,
        id uuid not null,
        provider text not null check (provider in ('stripe', 'razorpay')),
        provider_event_id text not null check (length(provider_event_id) between 1 and 255),
        type text not null check (length(type) between 1 and 200),
        provider_created_at timestamptz not null,
        payload jsonb not null,
        outcome text not null check (outcome in ('applied', 'stale', 'ignored', 'unknown_tenant')),
        received_at timestamptz not null default now(),
        primary key (tenant_id, id),
        constraint billing_events_once unique (tenant_id, provider, provider_event_id)
      )`);

    for (const table of ['subscriptions', 'invoices', 'billing_events']) {
      await db.query(`alter table ${table} enable row level security`);
      await db.query(`alter table ${table} force row level security`);
      for (const kind of ['permissive', 'restrictive']) {
        await db.query(`
          create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on ${table} as ${kind}
            for all to forecourt_runtime
            using (tenant_id = (select app.current_tenant_id()))
            with check (tenant_id = (select app.current_tenant_id()))`);
      }
    }
    // The schema owner reads every table for backups (see the backups migration).
    for (const table of ['plans', 'subscriptions', 'invoices', 'billing_events']) {
      await db.query(
        `create policy backup_read on ${table} as permissive for select to current_user using (true)`,
      );
    }
    await db.query(`grant select on plans to forecourt_runtime`);
    await db.query(`grant select, insert, update on subscriptions, invoices to forecourt_runtime`);
    await db.query(`grant select, insert on billing_events to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table billing_events, invoices, subscriptions, plans`);
  }
}
