import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deals: a customer buying a vehicle at a price. A deal lives in its customer's store; signing
 * reserves the vehicle and delivery sells it, each in the transaction that moves the deal. At most
 * one signed (or delivered) deal per vehicle, enforced by a partial unique index as well as by the
 * service's lock on the vehicle, so two concurrent signings cannot both win. The signed bill of sale
 * is an encrypted object in storage; the deal keeps its key, size and SHA-256.
 */
export class Deals1795530000000 implements MigrationInterface {
  name = 'Deals1795530000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table deals (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        store_id uuid not null,
        customer_id uuid not null,
        vehicle_id uuid not null,
        price_minor bigint not null check (price_minor between 0 and 100000000000),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        status text not null default 'draft' check (status in ('draft', 'signed', 'delivered', 'cancelled')),
        assigned_user_id uuid references users (id),
        signed_at timestamptz,
        delivered_at timestamptz,
        cancelled_at timestamptz,
        bill_of_sale_key text check (bill_of_sale_key like 'tenants/' || tenant_id || '/%'),
        bill_of_sale_size bigint check (bill_of_sale_size >= 0),
        bill_of_sale_sha256 bytea check (length(bill_of_sale_sha256) = 32),
        bill_of_sale_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, id, store_id),
        foreign key (tenant_id, customer_id, store_id) references customers (tenant_id, id, store_id)
          on update cascade,
        foreign key (tenant_id, vehicle_id) references vehicles (tenant_id, id),
        constraint deals_signed_at check ((status in ('signed', 'delivered')) <= (signed_at is not null)),
        constraint deals_delivered_at check ((status = 'delivered') = (delivered_at is not null)),
        constraint deals_cancelled_at check ((status = 'cancelled') = (cancelled_at is not null)),
        constraint deals_bill_of_sale check (
          (bill_of_sale_key is null) = (bill_of_sale_sha256 is null) and (bill_of_sale_key is null) = (bill_of_sale_at is null))
      )`);
    await db.query(
      `create unique index deals_one_per_vehicle on deals (tenant_id, vehicle_id) where status in ('signed', 'delivered')`,
    );
    await db.query(`create index deals_by_store on deals (tenant_id, store_id, id)`);
    await db.query(`create index deals_by_assignee on deals (tenant_id, assigned_user_id, id)`);
    await db.query(`create index deals_of_customer on deals (tenant_id, customer_id, id)`);
    await db.query(`create index deals_of_vehicle on deals (tenant_id, vehicle_id, id)`);
    await db.query(`create statistics deals_tenant_store (dependencies) on tenant_id, store_id from deals`);

    await db.query(`alter table deals enable row level security`);
    await db.query(`alter table deals force row level security`);
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on deals as ${kind}
          for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }
    await db.query(`
      create policy store_scope on deals as restrictive for all to forecourt_runtime
        using ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))
        with check ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))`);
    await db.query(`grant select, insert, update on deals to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table deals`);
  }
}
