import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's end: cancellation → access until the paid period ends → 30 days of read-only grace
 * → deletion, proven by a signed certificate.
 *
 * - `tenants.access_until` and `delete_after` follow the status on every path (the dealer's own
 *   cancellation and the payment provider's alike): a trigger sets them when the tenant becomes
 *   `cancelled` and clears them when it is active again.
 * - Deleting a tenant's rows needs powers the runtime role does not hold (the audit trail and the
 *   consent ledger refuse DELETE to everyone; several tables grant the runtime no DELETE). One
 *   SECURITY DEFINER function, `app.shred_tenant_rows`, deletes a batch of one table's rows of a
 *   tenant, and only of a tenant already marked `deleted` (which its caller records in the
 *   platform's audit chain first). It acts as the schema owner through a `tenant_shred` DELETE
 *   policy on every tenant table that matches only that tenant while the function runs; the
 *   append-only triggers let exactly those deletions through.
 * - `tenant_deletions` is what the platform keeps of a deleted tenant: no name, no slug, no
 *   person — its id, the counts deleted and the signed certificate. While a deletion runs it also
 *   holds the admins' addresses for the certificate mail and the ids of the people to remove;
 *   both are cleared when it completes.
 */
export class TenantLifecycle1795640000000 implements MigrationInterface {
  name = 'TenantLifecycle1795640000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`alter table tenants add column access_until timestamptz`);
    await db.query(`
      create function app.tenant_lifecycle_dates() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if new.status = 'cancelled' and new.cancelled_at is not null then
            new.access_until := greatest(new.cancelled_at, coalesce(new.billing_period_end, new.cancelled_at));
            new.delete_after := new.access_until + interval '30 days';
          elsif new.status in ('active', 'suspended') then
            new.cancelled_at := null;
            new.access_until := null;
            new.delete_after := null;
          end if;
          return new;
        end
        $$`);
    await db.query(`
      create trigger tenants_lifecycle_dates before insert or update of status, cancelled_at, billing_period_end
        on tenants for each row execute function app.tenant_lifecycle_dates()`);
    // Tenants a provider cancelled before this migration get their dates now.
    await db.query(
      `update tenants set cancelled_at = coalesce(cancelled_at, updated_at) where status = 'cancelled'`,
    );

    // The tenant being shredded in this transaction: set only by app.shred_tenant_rows, and only
    // ever a tenant marked deleted.
    await db.query(`
      create function app.shredding_tenant() returns uuid
        language sql stable
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id from public.tenants t
           where t.id = nullif(current_setting('app.shred_tenant', true), '')::uuid and t.status = 'deleted'
        $$`);

    const tenantTables = (
      (await db.query(`
        select c.relname as name from pg_class c
          join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
          join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
         where c.relkind = 'r' order by c.relname`)) as { name: string }[]
    ).map((row) => row.name);
    for (const table of tenantTables) {
      await db.query(`
        create policy tenant_shred on "${table}" as permissive for delete to current_user
          using (tenant_id = (select app.shredding_tenant()))`);
    }
    // The owner also removes the tenant's people that belong nowhere else, with their sessions
    // and recovery codes.
    const nowhereElse = (
      user: string,
    ) => `exists (select 1 from public.users u where u.id = ${user} and u.platform_role is null)
        and not exists (select 1 from public.memberships m where m.user_id = ${user})`;
    await db.query(`create policy tenant_shred on users as permissive for delete to current_user
        using (${nowhereElse('users.id')})`);
    for (const table of ['sessions', 'recovery_codes']) {
      await db.query(`create policy tenant_shred on ${table} as permissive for delete to current_user
          using (${nowhereElse(`${table}.user_id`)})`);
    }

    // The append-only trails let the shredding of a deleted tenant through, nothing else.
    await db.query(`
      create or replace function app.audit_append_only() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if tg_op = 'DELETE' and old.tenant_id = app.shredding_tenant() then
            return old;
          end if;
          if tg_op = 'UPDATE' then
            if tg_table_name = 'audit_events' and old.seq is null and new.seq is not null
               and (to_jsonb(old) - '{seq,prev_hash,hash}'::text[]) = (to_jsonb(new) - '{seq,prev_hash,hash}'::text[]) then
              return new;
            end if;
            if tg_table_name = 'audit_heads' and new.tenant_id = old.tenant_id and new.seq > old.seq then
              return new;
            end if;
          end if;
          raise exception '% is append-only: % refused', tg_table_name, tg_op
            using errcode = 'insufficient_privilege';
        end
        $$`);
    await db.query(`
      create or replace function app.consent_events_append_only() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if tg_op = 'DELETE' and old.tenant_id = app.shredding_tenant() then
            return old;
          end if;
          if tg_op = 'UPDATE' and (to_jsonb(new) - 'store_id') = (to_jsonb(old) - 'store_id') then
            return new;
          end if;
          raise exception 'consent_events is append-only: % refused', tg_op
            using errcode = 'insufficient_privilege';
        end
        $$`);

    // Every shredding function starts here: only a tenant already marked deleted.
    await db.query(`
      create function app.require_deleted_tenant(p_tenant uuid) returns void
        language plpgsql stable
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if not exists (select 1 from public.tenants where id = p_tenant and status = 'deleted') then
            raise exception 'tenant % is not marked deleted', p_tenant using errcode = 'FC410';
          end if;
        end
        $$`);
    await db.query(`
      create function app.shred_tenant_rows(p_tenant uuid, p_table text, p_limit integer) returns bigint
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          deleted bigint;
        begin
          perform app.require_deleted_tenant(p_tenant);
          if not exists (
            select 1 from pg_class c
              join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
              join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
             where c.relname = p_table and c.relkind = 'r') then
            raise exception 'not a tenant table: %', p_table using errcode = '42P01';
          end if;
          perform set_config('app.shred_tenant', p_tenant::text, true);
          execute format(
            'delete from public.%I where ctid = any (array(select ctid from public.%I where tenant_id = $1 limit $2))',
            p_table, p_table) using p_tenant, greatest(p_limit, 1);
          get diagnostics deleted = row_count;
          perform set_config('app.shred_tenant', '', true);
          return deleted;
        end
        $$`);

    // Rows per tenant table, for the certificate: counted as the owner (some tables are
    // insert-only to the runtime), and only for a tenant marked deleted.
    await db.query(`
      create function app.tenant_row_counts(p_tenant uuid) returns table (table_name text, row_count bigint)
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          t text;
        begin
          perform app.require_deleted_tenant(p_tenant);
          for t in
            select c.relname from pg_class c
              join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
              join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
             where c.relkind = 'r' order by c.relname
          loop
            table_name := t;
            execute format('select count(*) from public.%I where tenant_id = $1', t) into row_count using p_tenant;
            return next;
          end loop;
        end
        $$`);

    // People of a deleted tenant who belong to no other tenant and hold no platform role.
    await db.query(`
      create function app.shred_tenant_people(p_tenant uuid, p_people uuid[]) returns integer
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          person uuid;
          removed integer := 0;
          n integer;
        begin
          perform app.require_deleted_tenant(p_tenant);
          foreach person in array coalesce(p_people, '{}') loop
            begin
              delete from public.sessions where user_id = person;
              delete from public.recovery_codes where user_id = person;
              delete from public.users where id = person;
              get diagnostics n = row_count;
              removed := removed + n;
            exception when foreign_key_violation then
              null; -- still named by a row elsewhere (e.g. another tenant's record): kept
            end;
          end loop;
          return removed;
        end
        $$`);

    // For the daily lifecycle run: cancelled tenants whose paid period is over at p_now (ids and
    // dates only, across tenants, like the directory).
    await db.query(`
      create function app.lifecycle_due(p_now timestamptz)
        returns table (id uuid, status text, access_until timestamptz, delete_after timestamptz)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id, t.status, t.access_until, t.delete_after from public.tenants t
           where t.status in ('cancelled', 'grace') and t.access_until <= p_now
           order by t.delete_after, t.id
        $$`);

    // For the deletion certificate: the backups taken before a moment that still have a copy
    // (they hold the tenant until retention removes them).
    await db.query(`
      create function app.backups_before(p_at timestamptz)
        returns table (id uuid, created_at timestamptz, local_copy boolean, offsite_copy boolean)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select b.id, b.created_at, b.local_path is not null, b.offsite_key is not null from public.backups b
           where b.created_at < p_at and b.status = 'completed' and (b.local_path is not null or b.offsite_key is not null)
        $$`);

    // No new data key for a tenant being deleted (a late writer would otherwise make one).
    await db.query(`
      create function app.tenant_keys_not_deleted() returns trigger
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if exists (select 1 from public.tenants where id = new.tenant_id and status = 'deleted') then
            raise exception 'tenant % is deleted', new.tenant_id using errcode = 'FC410';
          end if;
          return new;
        end
        $$`);
    await db.query(`
      create trigger tenant_keys_not_deleted before insert on tenant_keys
        for each row execute function app.tenant_keys_not_deleted()`);

    // The platform's directory shows each tenant's place in its lifecycle.
    await db.query(`drop function app.platform_tenant_directory(uuid, integer)`);
    await db.query(`
      create function app.platform_tenant_directory(after_id uuid, max_rows integer)
        returns table (id uuid, slug text, name text, status text, created_at timestamptz,
                       cancelled_at timestamptz, access_until timestamptz, delete_after timestamptz)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id, t.slug, t.name, t.status, t.created_at, t.cancelled_at, t.access_until, t.delete_after
          from public.tenants t
          where after_id is null or t.id > after_id
          order by t.id
          limit least(greatest(max_rows, 1), 200)
        $$`);

    await db.query(`
      create table tenant_deletions (
        tenant uuid primary key,
        state text not null default 'running' check (state in ('running', 'completed')),
        reason text not null check (length(reason) between 1 and 500),
        requested_by uuid,
        due_at timestamptz,
        started_at timestamptz not null,
        completed_at timestamptz,
        row_counts jsonb,
        objects_deleted integer not null default 0,
        people_removed integer not null default 0,
        recipients text[],
        people uuid[],
        certificate jsonb,
        signature text,
        check (state = 'running' or (recipients is null and people is null and certificate is not null))
      )`);

    for (const fn of [
      'shred_tenant_rows(uuid, text, integer)',
      'tenant_row_counts(uuid)',
      'shred_tenant_people(uuid, uuid[])',
      'platform_tenant_directory(uuid, integer)',
      'lifecycle_due(timestamptz)',
      'backups_before(timestamptz)',
    ]) {
      await db.query(`revoke all on function app.${fn} from public`);
      await db.query(`grant execute on function app.${fn} to forecourt_runtime`);
    }
    await db.query(`revoke all on function app.require_deleted_tenant(uuid) from public`);
    await db.query(`grant select, insert, update on tenant_deletions to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table tenant_deletions`);
    await db.query(`drop trigger tenant_keys_not_deleted on tenant_keys`);
    await db.query(`drop function app.tenant_keys_not_deleted()`);
    await db.query(`drop function app.lifecycle_due(timestamptz)`);
    await db.query(`drop function app.backups_before(timestamptz)`);
    await db.query(`drop function app.shred_tenant_people(uuid, uuid[])`);
    await db.query(`drop function app.tenant_row_counts(uuid)`);
    await db.query(`drop function app.shred_tenant_rows(uuid, text, integer)`);
    await db.query(`drop function app.require_deleted_tenant(uuid)`);
    for (const table of ['users', 'sessions', 'recovery_codes'])
      await db.query(`drop policy tenant_shred on ${table}`);
    const shredded = (await db.query(
      `select tablename as name from pg_policies where schemaname = 'public' and policyname = 'tenant_shred'`,
    )) as { name: string }[];
    for (const { name } of shredded) await db.query(`drop policy tenant_shred on "${name}"`);
    await db.query(`drop function app.shredding_tenant()`);
    await db.query(`drop trigger tenants_lifecycle_dates on tenants`);
    await db.query(`drop function app.tenant_lifecycle_dates()`);
    await db.query(`alter table tenants drop column access_until`);
  }
}
