import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Support access grants: platform staff reach a tenant's data only through one of these —
 * requested with a reason, a scope and a duration of at most 8 hours, approved by the tenant's
 * dealer_admin (or, as recorded break-glass, a platform owner), revocable, expiring by itself.
 * What is done under a grant is found through the audit trail's `support_grant_id`.
 */
export class SupportGrants1795490000000 implements MigrationInterface {
  name = 'SupportGrants1795490000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table support_grants (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        requester_id uuid not null references users (id),
        reason text not null check (length(reason) between 10 and 1000),
        scope text not null check (scope in ('read', 'support')),
        duration_minutes integer not null check (duration_minutes between 1 and 480),
        status text not null default 'pending' check (status in ('pending', 'active', 'revoked')),
        requested_at timestamptz not null default now(),
        approved_by uuid references users (id),
        approved_at timestamptz,
        break_glass boolean not null default false,
        expires_at timestamptz,
        revoked_by uuid references users (id),
        revoked_at timestamptz,
        primary key (tenant_id, id),
        constraint support_grants_active check (status <> 'active' or (approved_at is not null and expires_at is not null))
      )`);
    // The access guard's lookup: a requester's active grant in a tenant.
    await db.query(
      `create index support_grants_requester on support_grants (tenant_id, requester_id) where status = 'active'`,
    );
    // What was done under each grant.
    await db.query(
      `create index audit_events_by_grant on audit_events (tenant_id, support_grant_id, seq) where support_grant_id is not null`,
    );
    await db.query(`alter table support_grants enable row level security`);
    await db.query(`alter table support_grants force row level security`);
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on support_grants as ${kind}
          for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }
    await db.query(`grant select, insert, update on support_grants to forecourt_runtime`);
    // Permissions version: bumped for a person by any change of their memberships or support
    // grants, and for every member of a tenant whose status or settings change. Each request reads
    // it with its session, so an API instance may keep a person's access in a tenant in memory
    // for as long as the version it was read at is current — and not a request longer.
    await db.query(`alter table users add column permissions_version bigint not null default 0`);
    await db.query(
      `create policy permissions_version_bump on users as permissive for update to current_user using (true)`,
    );
    await db.query(`
      create function app.bump_permissions_version() returns trigger
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          people uuid[];
        begin
          if tg_table_name = 'memberships' then
            people := case tg_op when 'INSERT' then array[new.user_id]
                                 when 'DELETE' then array[old.user_id]
                                 else array[new.user_id, old.user_id] end;
          elsif tg_table_name = 'support_grants' then
            people := case tg_op when 'INSERT' then array[new.requester_id]
                                 else array[new.requester_id, old.requester_id] end;
          else
            people := array(select m.user_id from public.memberships m where m.tenant_id = new.id);
          end if;
          update public.users set permissions_version = permissions_version + 1 where id = any(people);
          return null;
        end
        $$`);
    await db.query(`
      create trigger memberships_permissions_version after insert or update or delete on memberships
        for each row execute function app.bump_permissions_version()`);
    await db.query(`
      create trigger support_grants_permissions_version after insert or update on support_grants
        for each row execute function app.bump_permissions_version()`);
    await db.query(`
      create trigger tenants_permissions_version after update of status, settings on tenants
        for each row when (old.status is distinct from new.status or old.settings is distinct from new.settings)
        execute function app.bump_permissions_version()`);

    // For explaining a platform user's access in a tenant: their platform role, nothing else
    // (the owner reads users through the sign-in lookup policy).
    await db.query(`
      create function app.platform_role_of(p_user_id uuid) returns text
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select platform_role from public.users where id = p_user_id $$`);
    await db.query(`revoke all on function app.platform_role_of(uuid) from public`);
    await db.query(`grant execute on function app.platform_role_of(uuid) to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop trigger tenants_permissions_version on tenants`);
    await db.query(`drop trigger support_grants_permissions_version on support_grants`);
    await db.query(`drop trigger memberships_permissions_version on memberships`);
    await db.query(`drop function app.bump_permissions_version()`);
    await db.query(`drop policy permissions_version_bump on users`);
    await db.query(`alter table users drop column permissions_version`);
    await db.query(`drop function app.platform_role_of(uuid)`);
    await db.query(`drop index audit_events_by_grant`);
    await db.query(`drop table support_grants`);
  }
}
