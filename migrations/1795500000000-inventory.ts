import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inventory: vehicles of a store and their media (photos, documents). Both are store-scoped in
 * row-level security; a medium carries its vehicle's store (kept equal by the composite foreign
 * key, which follows a vehicle moved to another store), so the store wall needs no join. Every
 * list filter has an index leading with tenant_id that the runtime role can use under row-level
 * security: there, only conditions built from LEAKPROOF operators reach an index, which rules
 * out `lower(column)`, LIKE and trigram matching. So the case-insensitive keys are stored
 * (generated columns) and compared with `=` and the pattern range operators `~>=~`/`~<~`.
 */
export class Inventory1795500000000 implements MigrationInterface {
  name = 'Inventory1795500000000';

  async up(db: QueryRunner): Promise<void> {
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
        make_key text generated always as (lower(make)) stored,
        model_key text generated always as (lower(model)) stored,
        vin_reversed text generated always as (reverse(vin)) stored,
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
    // text_pattern_ops: equality, and prefix ranges whatever the database's collation.
    await db.query(
      `create index vehicles_by_make on vehicles (tenant_id, make_key text_pattern_ops, model_key text_pattern_ops, id)`,
    );
    await db.query(`create index vehicles_by_model on vehicles (tenant_id, model_key text_pattern_ops, id)`);
    await db.query(`create index vehicles_by_year on vehicles (tenant_id, year, id)`);
    await db.query(`create index vehicles_by_price on vehicles (tenant_id, price_minor, id)`);
    // Free text: the start of the VIN, make or model, or the end of the VIN (dealers quote the last digits).
    await db.query(`create index vehicles_by_vin on vehicles (tenant_id, vin text_pattern_ops)`);
    await db.query(`create index vehicles_by_vin_end on vehicles (tenant_id, vin_reversed text_pattern_ops)`);
    // A store belongs to one tenant: without this the planner multiplies the two selectivities and
    // expects a store's vehicles to be a handful, then sorts them all instead of walking the index.
    await db.query(
      `create statistics vehicles_tenant_store (dependencies) on tenant_id, store_id from vehicles`,
    );

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

    // Objects to remove from object storage. A deletion is written in the transaction that drops
    // the rows owning the object, so it survives a crash between the commit and the removal; an
    // upload writes one (due a day later) before its object exists and drops it in the
    // transaction that records the object, so an upload cut off midway is cleaned up as well.
    await db.query(`
      create table object_deletions (
        tenant_id uuid not null references tenants (id),
        object_key text not null check (object_key like 'tenants/' || tenant_id || '/%'),
        not_before timestamptz not null default now(),
        primary key (tenant_id, object_key)
      )`);
    await db.query(`create index object_deletions_due on object_deletions (not_before)`);
    await db.query(`alter table object_deletions enable row level security`);
    await db.query(`alter table object_deletions force row level security`);
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on object_deletions as ${kind}
          for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }
    await db.query(`grant select, insert, update, delete on object_deletions to forecourt_runtime`);
    // The sweeper's view across tenants: which deletions are due, and nothing else. The function
    // runs as the owner, whom forced row-level security binds too: this policy lets the owner read.
    await db.query(
      `create policy due_deletions_lookup on object_deletions as permissive for select to current_user using (true)`,
    );
    await db.query(`
      create function app.due_object_deletions(max_rows integer)
        returns table (tenant_id uuid, object_key text)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select d.tenant_id, d.object_key from public.object_deletions d
          where d.not_before <= now() order by d.not_before limit max_rows
        $$`);
    await db.query(`revoke all on function app.due_object_deletions(integer) from public`);
    await db.query(`grant execute on function app.due_object_deletions(integer) to forecourt_runtime`);
    await db.query(`grant select, insert, delete on vehicle_media to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop function app.due_object_deletions(integer)`);
    await db.query(`drop table object_deletions`);
    await db.query(`drop table vehicle_media`);
    await db.query(`drop table vehicles`);
  }
}
