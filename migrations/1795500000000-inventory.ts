import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inventory: vehicles of a store and their media (photos, documents). Both are store-scoped in
 * row-level security; a medium carries its vehicle's store (kept equal by the composite foreign
 * key, which follows a vehicle moved to another store), so the store wall needs no join. Every
 * list filter has an index leading with tenant_id; free text uses trigrams (`pg_trgm`) with the
 * tenant in the same GIN index (`btree_gin`), both trusted extensions the schema owner may create.
 */
export class Inventory1795500000000 implements MigrationInterface {
  name = 'Inventory1795500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`create extension if not exists pg_trgm`);
    await db.query(`create extension if not exists btree_gin`);
    await db.query(`
      create table vehicles (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        store_id uuid not null,
        vin text not null check (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
        year smallint not null check (year between 1886 and 2100),
        make text not null check (length(make) between 1 and 60),
        model text not null check (length(model) between 1 and 60),
        trim text check (length(trim) between 1 and 60),
        mileage integer not null check (mileage between 0 and 10000000),
        price_minor bigint not null check (price_minor between 0 and 100000000000),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        status text not null default 'in_stock' check (status in ('in_stock', 'reserved', 'sold')),
        acquired_at date not null default current_date,
        sold_at date,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        search text generated always as (lower(vin || ' ' || make || ' ' || model)) stored,
        primary key (tenant_id, id),
        unique (tenant_id, id, store_id),
        foreign key (tenant_id, store_id) references stores (tenant_id, id),
        constraint vehicles_sold_at check ((status = 'sold') = (sold_at is not null))
      )`);
    // A VIN names one car: once per tenant among the vehicles not sold (a car sold and bought
    // back is a new stock entry).
    await db.query(
      `create unique index vehicles_vin_unsold on vehicles (tenant_id, vin) where status <> 'sold'`,
    );
    // Keyset pagination runs in id order within each filter.
    await db.query(`create index vehicles_by_store on vehicles (tenant_id, store_id, id)`);
    await db.query(`create index vehicles_by_status on vehicles (tenant_id, status, id)`);
    await db.query(`create index vehicles_by_make on vehicles (tenant_id, lower(make), lower(model), id)`);
    await db.query(`create index vehicles_by_model on vehicles (tenant_id, lower(model), id)`);
    await db.query(`create index vehicles_by_year on vehicles (tenant_id, year, id)`);
    await db.query(`create index vehicles_by_price on vehicles (tenant_id, price_minor, id)`);
    await db.query(`create index vehicles_text on vehicles using gin (tenant_id, search gin_trgm_ops)`);

    await db.query(`
      create table vehicle_media (
        tenant_id uuid not null,
        id uuid not null,
        vehicle_id uuid not null,
        store_id uuid not null,
        object_key text not null check (object_key like 'tenants/' || tenant_id || '/%'),
        kind text not null check (kind in ('photo', 'document')),
        content_type text not null
          check (content_type in ('image/jpeg', 'image/png', 'image/webp', 'image/heic', 'application/pdf')),
        size bigint not null check (size >= 0),
        sha256 bytea not null check (length(sha256) = 32),
        file_name text check (length(file_name) between 1 and 255),
        uploaded_by uuid references users (id),
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, object_key),
        foreign key (tenant_id, vehicle_id, store_id) references vehicles (tenant_id, id, store_id)
          on update cascade on delete cascade
      )`);
    await db.query(`create index vehicle_media_of_vehicle on vehicle_media (tenant_id, vehicle_id, id)`);

    for (const table of ['vehicles', 'vehicle_media']) {
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
    await db.query(`grant select, insert, update, delete on vehicles to forecourt_runtime`);
    await db.query(`grant select, insert, delete on vehicle_media to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table vehicle_media`);
    await db.query(`drop table vehicles`);
  }
}
