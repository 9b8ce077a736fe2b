import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity: wrapped key material, MFA state, sessions, recovery codes, sign-in attempts and
 * events.
 *
 * Sessions and recovery codes belong to a person, not a tenant: row-level security shows them
 * only to a transaction acting as that user (`app.user_id`). Sign-in happens before anyone is
 * known, so the lookup by e-mail is a narrow SECURITY DEFINER function returning one row.
 */
export class Identity1795460000000 implements MigrationInterface {
  name = 'Identity1795460000000';

  async up(db: QueryRunner): Promise<void> {
    // Data keys and signing keys, each stored only wrapped under the master key.
    await db.query(`
      create table key_material (
        id text primary key,
        purpose text not null check (purpose in ('session-signing', 'user-secrets')),
        wrapped_key bytea not null,
        created_at timestamptz not null default now(),
        retired_at timestamptz
      )`);
    await db.query(`
      create table tenant_keys (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        wrapped_key bytea not null,
        created_at timestamptz not null default now(),
        retired_at timestamptz,
        primary key (tenant_id, id)
      )`);
    // One active data key per tenant; retired ones stay until nothing sealed under them remains.
    await db.query(
      `create unique index tenant_keys_active on tenant_keys (tenant_id) where retired_at is null`,
    );

    await db.query(`
      alter table users
        add column mfa_enabled_at timestamptz,
        add column totp_last_step bigint,
        add column failed_sign_ins integer not null default 0,
        add column locked_until timestamptz`);

    await db.query(`
      create table recovery_codes (
        user_id uuid not null references users (id),
        id uuid not null,
        code_hash bytea not null,
        used_at timestamptz,
        primary key (user_id, id)
      )`);

    await db.query(`
      create table sessions (
        id uuid primary key,
        user_id uuid not null references users (id),
        token_hash bytea not null,
        created_at timestamptz not null default now(),
        last_seen_at timestamptz not null default now(),
        expires_at timestamptz not null,
        revoked_at timestamptz,
        constraint sessions_token_key unique (user_id, token_hash)
      )`);

    // Counted across instances for rate limits; IP addresses only, no credentials.
    await db.query(`
      create table auth_attempts (
        id bigint generated always as identity primary key,
        ip inet not null,
        endpoint text not null,
        failed boolean not null,
        at timestamptz not null default now()
      )`);
    await db.query(`create index auth_attempts_ip_at on auth_attempts (ip, at)`);
    await db.query(`create index auth_attempts_at on auth_attempts (at)`);

    // Sign-in events (the audit trail takes these over later). Never a password or code.
    await db.query(`
      create table auth_events (
        id uuid primary key,
        at timestamptz not null default now(),
        user_id uuid references users (id),
        event text not null,
        outcome text not null check (outcome in ('succeeded', 'failed', 'refused')),
        reason text,
        ip inet,
        user_agent text,
        request_id text
      )`);

    for (const table of ['tenant_keys', 'recovery_codes', 'sessions']) {
      await db.query(`alter table ${table} enable row level security`);
      await db.query(`alter table ${table} force row level security`);
    }
    await db.query(`
      create policy tenant_access on tenant_keys as permissive for all to forecourt_runtime
        using (tenant_id = (select app.current_tenant_id()))
        with check (tenant_id = (select app.current_tenant_id()))`);
    await db.query(`
      create policy tenant_isolation on tenant_keys as restrictive for all to forecourt_runtime
        using (tenant_id = (select app.current_tenant_id()))
        with check (tenant_id = (select app.current_tenant_id()))`);
    for (const table of ['recovery_codes', 'sessions']) {
      for (const kind of ['permissive', 'restrictive']) {
        await db.query(`
          create policy own_${kind === 'permissive' ? 'access' : 'isolation'} on ${table} as ${kind}
            for all to forecourt_runtime
            using (user_id = (select app.current_user_id()))
            with check (user_id = (select app.current_user_id()))`);
      }
    }

    // Sign-in lookup by e-mail, before anyone is known: one row, the columns sign-in needs.
    await db.query(`
      create policy sign_in_lookup on users as permissive for select to current_user using (true)`);
    await db.query(`
      create function app.sign_in_candidate(p_email text)
        returns table (id uuid, password_hash text, status text, mfa_enabled boolean, locked_until timestamptz)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select u.id, u.password_hash, u.status, u.mfa_enabled_at is not null, u.locked_until
          from public.users u where u.email = lower(p_email)
        $$`);
    // The memberships of the user the transaction acts as, across tenants (for /v1/auth/me).
    await db.query(`
      create policy own_memberships_lookup on memberships as permissive for select to current_user using (true)`);
    await db.query(`
      create function app.own_memberships()
        returns table (tenant_id uuid, role text, all_stores boolean, store_ids uuid[])
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select m.tenant_id, m.role, m.all_stores, m.store_ids
          from public.memberships m
          where m.user_id = nullif(current_setting('app.user_id', true), '')::uuid and m.status = 'active'
          order by m.tenant_id
        $$`);
    // Whether any platform owner exists (start-up prints how to create the first one).
    await db.query(`
      create function app.platform_owner_exists() returns boolean
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select exists (select 1 from public.users where platform_role = 'platform_owner') $$`);
    for (const fn of ['sign_in_candidate(text)', 'own_memberships()', 'platform_owner_exists()']) {
      await db.query(`revoke all on function app.${fn} from public`);
      await db.query(`grant execute on function app.${fn} to forecourt_runtime`);
    }

    await db.query(`grant select, insert, update on key_material to forecourt_runtime`);
    await db.query(`grant select, insert, update on tenant_keys to forecourt_runtime`);
    await db.query(`grant select, insert, update, delete on recovery_codes, sessions to forecourt_runtime`);
    await db.query(`grant select, insert, delete on auth_attempts to forecourt_runtime`);
    await db.query(`grant select, insert on auth_events to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `drop function app.platform_owner_exists(), app.own_memberships(), app.sign_in_candidate(text)`,
    );
    await db.query(`drop policy own_memberships_lookup on memberships`);
    await db.query(`drop policy sign_in_lookup on users`);
    await db.query(
      `drop table auth_events, auth_attempts, sessions, recovery_codes, tenant_keys, key_material`,
    );
    await db.query(`
      alter table users drop column mfa_enabled_at, drop column totp_last_step,
        drop column failed_sign_ins, drop column locked_until`);
  }
}
