import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invitations (into a tenant, and onto the platform staff) and the record of membership changes.
 * An invitation's token is stored only as its hash; a tenant invitation's token also carries the
 * tenant id, so accepting it runs inside that tenant's context like any other tenant write.
 */
export class Invitations1795470000000 implements MigrationInterface {
  name = 'Invitations1795470000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table invitations (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        email text not null check (email = lower(email)),
        role text not null
          check (role in ('dealer_admin', 'dealer_manager', 'dealer_sales', 'dealer_marketing')),
        all_stores boolean not null default false,
        store_ids uuid[] not null default '{}',
        token_hash bytea not null,
        expires_at timestamptz not null,
        accepted_at timestamptz,
        invited_by uuid references users (id),
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        constraint invitations_token_key unique (tenant_id, token_hash)
      )`);
    await db.query(`
      create table platform_invitations (
        id uuid primary key,
        email text not null check (email = lower(email)),
        role text not null check (role in ('platform_owner', 'platform_support')),
        token_hash bytea not null unique,
        expires_at timestamptz not null,
        accepted_at timestamptz,
        invited_by uuid references users (id),
        created_at timestamptz not null default now()
      )`);
    await db.query(`
      create table membership_events (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        at timestamptz not null default now(),
        actor_id uuid references users (id),
        user_id uuid not null references users (id),
        action text not null,
        changes jsonb not null default '{}'::jsonb,
        primary key (tenant_id, id)
      )`);

    for (const table of ['invitations', 'membership_events']) {
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
    // A dealer_admin ends the sessions of a member of its tenant: sessions are walled per user, so
    // this narrow function (owned by the schema owner, who may update sessions through the policy
    // below) does it, and only for a user who is a member of the transaction's tenant.
    await db.query(
      `create policy session_revocation on sessions as permissive for all to current_user using (true)`,
    );
    await db.query(`
      create function app.revoke_member_sessions(p_user_id uuid) returns integer
        language sql volatile security definer
        set search_path = pg_catalog, pg_temp
        as $$
          with revoked as (
            update public.sessions s set revoked_at = now()
            where s.user_id = p_user_id and s.revoked_at is null
              and exists (
                select 1 from public.memberships m
                where m.user_id = p_user_id
                  and m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
              )
            returning 1
          )
          select count(*)::integer from revoked
        $$`);
    await db.query(`revoke all on function app.revoke_member_sessions(uuid) from public`);
    await db.query(`grant execute on function app.revoke_member_sessions(uuid) to forecourt_runtime`);
    // Accepting an invitation for an e-mail that already has an account adds a membership to it.
    await db.query(`
      create function app.user_id_by_email(p_email text) returns uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select id from public.users where email = lower(p_email) $$`);
    await db.query(`revoke all on function app.user_id_by_email(text) from public`);
    await db.query(`grant execute on function app.user_id_by_email(text) to forecourt_runtime`);

    await db.query(`grant select, insert, update on invitations to forecourt_runtime`);
    await db.query(`grant select, insert on membership_events to forecourt_runtime`);
    await db.query(`grant select, insert, update on platform_invitations to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop function app.user_id_by_email(text), app.revoke_member_sessions(uuid)`);
    await db.query(`drop policy session_revocation on sessions`);
    await db.query(`drop table membership_events, platform_invitations, invitations`);
  }
}
