import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A lead's conversation and its bookings. Both live in the lead's store (a composite key to the
 * lead, following a store move). Messages are a record of what was said: the runtime role may
 * only add them. A vehicle cannot be booked twice for overlapping times: an exclusion constraint
 * over the booked time ranges (`btree_gist` lets it compare the tenant and vehicle ids too).
 */
export class MessagesBookings1795540000000 implements MigrationInterface {
  name = 'MessagesBookings1795540000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`create extension if not exists btree_gist`);
    await db.query(`
      create table messages (
        tenant_id uuid not null,
        id uuid not null,
        lead_id uuid not null,
        store_id uuid not null,
        direction text not null check (direction in ('inbound', 'outbound')),
        channel text not null check (channel in ('email', 'sms', 'phone', 'whatsapp', 'in_person')),
        body text not null check (length(body) between 1 and 10000),
        author_id uuid references users (id),
        at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, lead_id, store_id) references leads (tenant_id, id, store_id) on update cascade
      )`);
    await db.query(`create index messages_of_lead on messages (tenant_id, lead_id, at, id)`);

    await db.query(`
      create table bookings (
        tenant_id uuid not null,
        id uuid not null,
        lead_id uuid not null,
        store_id uuid not null,
        kind text not null check (kind in ('test_drive', 'appointment')),
        vehicle_id uuid,
        starts_at timestamptz not null,
        ends_at timestamptz not null,
        assigned_user_id uuid references users (id),
        status text not null default 'booked' check (status in ('booked', 'cancelled')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, lead_id, store_id) references leads (tenant_id, id, store_id) on update cascade,
        foreign key (tenant_id, vehicle_id) references vehicles (tenant_id, id) on delete cascade,
        constraint bookings_time check (ends_at > starts_at and ends_at <= starts_at + interval '1 day'),
        constraint bookings_test_drive_vehicle check (kind <> 'test_drive' or vehicle_id is not null),
        constraint bookings_no_double_booking exclude using gist
          (tenant_id with =, vehicle_id with =, tstzrange(starts_at, ends_at) with &&)
          where (status = 'booked' and vehicle_id is not null)
      )`);
    await db.query(`create index bookings_by_store on bookings (tenant_id, store_id, starts_at, id)`);
    await db.query(
      `create index bookings_by_assignee on bookings (tenant_id, assigned_user_id, starts_at, id)`,
    );
    await db.query(`create index bookings_of_lead on bookings (tenant_id, lead_id)`);

    for (const table of ['messages', 'bookings']) {
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
    await db.query(`grant select, insert on messages to forecourt_runtime`);
    await db.query(`grant select, insert, update on bookings to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table bookings`);
    await db.query(`drop table messages`);
  }
}
