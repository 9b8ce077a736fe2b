import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema: tenants, stores, users, memberships, and the row-level security that makes
 * PostgreSQL the second wall between tenants.
 *
 * - `forecourt_runtime` is a NOLOGIN group role. The API's login role is granted membership at
 *   start-up; every grant and policy names the group, so the schema does not depend on the
 *   name of the production login role.
 * - Every tenant table: `tenant_id` first in the primary key and in every unique constraint;
 *   RLS enabled and FORCED; a RESTRICTIVE tenant policy (no permissive policy added later can
 *   widen it) beside the permissive one that grants access at all; store scope as its own
 *   RESTRICTIVE policy.
 * - Policies call the context functions as `(select app.fn())`, an InitPlan evaluated once per
 *   query rather than once per row.
 */
export class InitialSchema1795453200000 implements MigrationInterface {
  name = 'InitialSchema1795453200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      do $$
      begin
        if not exists (select from pg_roles where rolname = 'forecourt_runtime') then
          create role forecourt_runtime nologin;
        end if;
      end
      $$`);

    await db.query(`create schema app`);
    await db.query(`grant usage on schema app to forecourt_runtime`);
    await db.query(`grant usage on schema public to forecourt_runtime`);

    // The request's tenant: NULL when unset or '' (a reused connection reads '' after a
    // transaction-local setting ended), so "tenant_id = NULL" matches no row.
    await db.query(`
      create function app.current_tenant_id() returns uuid
        language sql stable parallel safe
        as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$`);
    await db.query(`
      create function app.current_user_id() returns uuid
        language sql stable parallel safe
        as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$`);
    // Store scope: '*' = every store of the tenant; '{id,...}' = those stores; anything else
    // (unset, '') = no store, so a forgotten scope shows nothing rather than everything.
    await db.query(`
      create function app.all_stores_in_scope() returns boolean
        language sql stable parallel safe
        as $$ select coalesce(current_setting('app.store_ids', true), '') = '*' $$`);
    await db.query(`
      create function app.scoped_store_ids() returns uuid[]
        language sql stable parallel safe
        as $$
          select case
            when coalesce(current_setting('app.store_ids', true), '') in ('', '*') then '{}'::uuid[]
            else current_setting('app.store_ids', true)::uuid[]
          end
        $$`);

    await db.query(`
      create table tenants (
        id uuid primary key,
        slug text not null,
        name text not null check (length(name) between 1 and 200),
        status text not null default 'active'
          check (status in ('active', 'suspended', 'cancelled', 'grace', 'deleted')),
        plan text,
        region text not null default 'default',
        billing_period_end timestamptz,
        cancelled_at timestamptz,
        delete_after timestamptz,
        settings jsonb not null default '{}'::jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        constraint tenants_slug_format check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
        constraint tenants_slug_key unique (slug)
      )`);

    await db.query(`
      create table stores (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        name text not null check (length(name) between 1 and 200),
        brands text[] not null default '{}',
        address jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        constraint stores_name_key unique (tenant_id, name)
      )`);

    await db.query(`
      create table users (
        id uuid primary key,
        email text not null check (email = lower(email) and length(email) between 3 and 320),
        name text not null check (length(name) between 1 and 200),
        password_hash text,
        mfa_secret bytea,
        platform_role text check (platform_role in ('platform_owner', 'platform_support')),
        status text not null default 'active' check (status in ('active', 'deactivated')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        constraint users_email_key unique (email)
      )`);

    await db.query(`
      create table memberships (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        user_id uuid not null references users (id),
        role text not null
          check (role in ('dealer_admin', 'dealer_manager', 'dealer_sales', 'dealer_marketing')),
        all_stores boolean not null default false,
        store_ids uuid[] not null default '{}',
        status text not null default 'active' check (status in ('active', 'deactivated')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        constraint memberships_user_key unique (tenant_id, user_id),
        constraint memberships_admin_all_stores check (role <> 'dealer_admin' or all_stores)
      )`);

    // --- Row-level security ------------------------------------------------------------------
    for (const table of ['tenants', 'stores', 'users', 'memberships']) {
      await db.query(`alter table ${table} enable row level security`);
      await db.query(`alter table ${table} force row level security`);
    }

    // tenants: the tenant row itself (the root of every tenant's data).
    await db.query(`
      create policy tenant_access on tenants as permissive for all to forecourt_runtime
        using (id = (select app.current_tenant_id()))
        with check (id = (select app.current_tenant_id()))`);
    await db.query(`
      create policy tenant_isolation on tenants as restrictive for all to forecourt_runtime
        using (id = (select app.current_tenant_id()))
        with check (id = (select app.current_tenant_id()))`);

    for (const table of ['stores', 'memberships']) {
      await db.query(`
        create policy tenant_access on ${table} as permissive for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
      await db.query(`
        create policy tenant_isolation on ${table} as restrictive for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }

    // stores: a store row is in scope when its own id is.
    await db.query(`
      create policy store_scope on stores as restrictive for all to forecourt_runtime
        using ((select app.all_stores_in_scope()) or id = any ((select app.scoped_store_ids())::uuid[]))
        with check ((select app.all_stores_in_scope()) or id = any ((select app.scoped_store_ids())::uuid[]))`);

    // users: a person is global (one sign-in, memberships in several tenants), so a user row is
    // visible to a transaction acting as that user, or for a tenant the user is a member of.
    // Permissive grants access at all; the identical RESTRICTIVE policy keeps any later
    // permissive policy from widening it.
    const userVisible = `
      id = (select app.current_user_id())
      or exists (
        select 1 from memberships m
        where m.user_id = users.id and m.tenant_id = (select app.current_tenant_id())
      )`;
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy user_${kind === 'permissive' ? 'access' : 'isolation'} on users as ${kind}
          for all to forecourt_runtime
          using (${userVisible})
          with check (${userVisible})`);
    }

    // The platform's tenant directory: the one cross-tenant read of this schema. A SECURITY
    // DEFINER function owned by the schema owner (who may read tenants through the policy
    // below, and nothing else) returns directory columns only; the runtime may execute it but
    // still cannot select other tenants' rows. Who may call it is decided by the API.
    await db.query(`
      create policy platform_directory on tenants as permissive for select to current_user
        using (true)`);
    await db.query(`
      create function app.platform_tenant_directory(after_id uuid, max_rows integer)
        returns table (id uuid, slug text, name text, status text, created_at timestamptz)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id, t.slug, t.name, t.status, t.created_at
          from public.tenants t
          where after_id is null or t.id > after_id
          order by t.id
          limit least(greatest(max_rows, 1), 200)
        $$`);
    await db.query(`revoke all on function app.platform_tenant_directory(uuid, integer) from public`);
    await db.query(
      `grant execute on function app.platform_tenant_directory(uuid, integer) to forecourt_runtime`,
    );

    await db.query(`grant select, insert, update on tenants to forecourt_runtime`);
    await db.query(`grant select, insert, update, delete on stores, memberships to forecourt_runtime`);
    await db.query(`grant select, insert, update on users to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table memberships, users, stores, tenants`);
    await db.query(`drop schema app cascade`);
  }
}
