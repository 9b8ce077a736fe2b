import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customers of a store and their consent ledger. A customer's sensitive identifiers (national id,
 * driving licence, a free-form map of market-specific ids) are stored only sealed under the
 * tenant's data key (`bytea`, sealed by `TenantKeys`); name, e-mail and phone are kept normalised
 * so that search needs no decryption, with the keys it compares stored (see the inventory
 * migration on why only leakproof comparisons reach an index under row-level security).
 * Consent is an append-only ledger: the current state is its latest event per channel and purpose.
 */
export class Customers1795510000000 implements MigrationInterface {
  name = 'Customers1795510000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table customers (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        store_id uuid not null,
        name text not null check (length(name) between 1 and 200),
        name_key text generated always as (lower(name)) stored,
        email text check (email = lower(email) and length(email) between 3 and 320),
        phone text check (phone ~ '^\\+[1-9][0-9]{6,14}$'),
        phone_reversed text generated always as (reverse(phone)) stored,
        address jsonb check (address is null or jsonb_typeof(address) = 'object'),
        national_id bytea,
        driver_license bytea,
        sensitive bytea,
        notes text check (length(notes) <= 5000),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, id, store_id),
        foreign key (tenant_id, store_id) references stores (tenant_id, id)
      )`);
    await db.query(`create index customers_by_store on customers (tenant_id, store_id, id)`);
    await db.query(`create index customers_by_name on customers (tenant_id, name_key text_pattern_ops)`);
    await db.query(`create index customers_by_email on customers (tenant_id, email text_pattern_ops)`);
    await db.query(
      `create index customers_by_phone_end on customers (tenant_id, phone_reversed text_pattern_ops)`,
    );
    await db.query(
      `create statistics customers_tenant_store (dependencies) on tenant_id, store_id from customers`,
    );

    await db.query(`
      create table consent_events (
        tenant_id uuid not null,
        id uuid not null,
        customer_id uuid not null,
        store_id uuid not null,
        channel text not null check (channel in ('email', 'sms', 'phone', 'whatsapp')),
        purpose text not null check (purpose in ('marketing', 'service')),
        status text not null check (status in ('granted', 'withdrawn')),
        source text not null check (length(source) between 1 and 200),
        actor_id uuid references users (id),
        at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, customer_id, store_id) references customers (tenant_id, id, store_id)
          on update cascade
      )`);
    await db.query(
      `create index consent_events_of_customer on consent_events (tenant_id, customer_id, at, id)`,
    );
    // Append-only for everyone, the owner included: only the store a customer moves to may follow
    // (the foreign key's cascade); removal comes with the data-deletion path, recorded.
    await db.query(`
      create function app.consent_events_append_only() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if tg_op = 'UPDATE' and (to_jsonb(new) - 'store_id') = (to_jsonb(old) - 'store_id') then
            return new;
          end if;
          raise exception 'consent_events is append-only: % refused', tg_op
            using errcode = 'insufficient_privilege';
        end
        $$`);
    await db.query(`
      create trigger consent_events_append_only before update or delete on consent_events
        for each row execute function app.consent_events_append_only()`);
    await db.query(`
      create trigger consent_events_no_truncate before truncate on consent_events
        for each statement execute function app.consent_events_append_only()`);

    for (const table of ['customers', 'consent_events']) {
      await db.query(`alter table ${table} enable row level security`);
      await db.query(`alter table ${table} force row level security`);
      for (const kind of ['permissive', 'restrictive']) {
        await db.query(`
          create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on ${table} as ${kind}
            for all to forecourt_runtime
            using (tenant_id = (select app.current_tenant_id()))
            with check (tenant_id = (select app.current_tenant_id()))`);
      }
      await db.query(`
        create policy store_scope on ${table} as restrictive for all to forecourt_runtime
          using ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))
          with check ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))`);
    }
    await db.query(`grant select, insert, update on customers to forecourt_runtime`);
    await db.query(`grant select, insert on consent_events to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table consent_events`);
    await db.query(`drop function app.consent_events_append_only()`);
    await db.query(`drop table customers`);
  }
}
