import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SAML single sign-on per tenant. `sso_connections` holds a tenant's identity provider (entity id,
 * SSO URL, signing certificates, switches) and its group → role mapping. The two caches the
 * service provider needs on every instance live here too, per tenant: the ids of the
 * AuthnRequests it sent (for `InResponseTo`, with the server-side RelayState key) and the ids of
 * the assertions it accepted (each accepted once, until it expires). A user created or linked by
 * a tenant's SSO carries `users.sso_tenant_id`: that IdP may vouch for that account only.
 */
export class SamlSso1795550000000 implements MigrationInterface {
  name = 'SamlSso1795550000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table sso_connections (
        tenant_id uuid not null references tenants (id),
        idp_entity_id text not null check (length(idp_entity_id) between 1 and 1024),
        idp_sso_url text not null check (idp_sso_url ~ '^https?://' and length(idp_sso_url) <= 2048),
        idp_certificates text[] not null check (cardinality(idp_certificates) between 1 and 10),
        enforce boolean not null default false,
        allow_idp_initiated boolean not null default false,
        want_response_signed boolean not null default true,
        allow_sha1 boolean not null default false,
        role_mapping jsonb not null default '[]' check (jsonb_typeof(role_mapping) = 'array'),
        default_role jsonb check (default_role is null or jsonb_typeof(default_role) = 'object'),
        break_glass_user_ids uuid[] not null default '{}',
        -- fingerprints of the certificates whose coming expiry the tenant's admins were told of
        expiry_warned text[] not null default '{}',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id)
      )`);
    await db.query(`
      create table saml_requests (
        tenant_id uuid not null references tenants (id),
        id text not null check (length(id) between 1 and 256),
        relay_key text not null check (length(relay_key) between 16 and 64),
        return_to text check (return_to ~ '^/[^/\\\\]' or return_to = '/'),
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        primary key (tenant_id, id),
        constraint saml_requests_relay_key unique (tenant_id, relay_key)
      )`);
    await db.query(`
      create table saml_assertions (
        tenant_id uuid not null references tenants (id),
        id text not null check (length(id) between 1 and 256),
        accepted_at timestamptz not null default now(),
        expires_at timestamptz not null,
        primary key (tenant_id, id)
      )`);
    // An admin's "test connection" runs: the request it sent, and what the IdP's answer showed.
    await db.query(`
      create table sso_tests (
        tenant_id uuid not null references tenants (id),
        id text not null check (length(id) between 1 and 256),
        requested_by uuid not null references users (id),
        created_at timestamptz not null default now(),
        finished_at timestamptz,
        outcome text check (outcome in ('passed', 'failed')),
        reason text check (length(reason) <= 64),
        name_id text check (length(name_id) <= 320),
        groups text[],
        mapped_role jsonb,
        primary key (tenant_id, id),
        constraint sso_tests_finished check ((finished_at is null) = (outcome is null))
      )`);
    await db.query(`create index saml_requests_expiry on saml_requests (tenant_id, expires_at)`);
    await db.query(`create index saml_assertions_expiry on saml_assertions (tenant_id, expires_at)`);

    await db.query(`alter table users add column sso_tenant_id uuid references tenants (id)`);

    for (const table of ['sso_connections', 'saml_requests', 'saml_assertions', 'sso_tests']) {
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

    // The sign-in pages name a tenant by its slug before anyone is known: its id, when the tenant
    // is active and has a connection (owned by the schema owner, who may read tenants through the
    // directory policy; the connection row itself is read in the tenant's context afterwards).
    await db.query(`
      create policy sso_lookup on sso_connections as permissive for select to current_user using (true)`);
    await db.query(`
      create function app.sso_tenant(p_slug text) returns uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id from public.tenants t
          where t.slug = p_slug and t.status = 'active'
            and exists (select 1 from public.sso_connections c where c.tenant_id = t.id)
        $$`);
    // What SSO may do with an e-mail that already has an account: link it only when nothing but
    // this tenant knows it (no platform role, no membership elsewhere) or it is already this
    // tenant's SSO account. Anything else would let one tenant's IdP sign in as another's user.
    // (The owner reads users and memberships through the sign-in lookup policies of the identity migration.)
    await db.query(`
      create function app.sso_account(p_email text)
        returns table (id uuid, status text, linkable boolean)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select u.id, u.status,
                 u.sso_tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
                 or (u.sso_tenant_id is null and u.platform_role is null and not exists (
                       select 1 from public.memberships m
                        where m.user_id = u.id
                          and m.tenant_id <> nullif(current_setting('app.tenant_id', true), '')::uuid))
          from public.users u where u.email = lower(p_email)
        $$`);
    // The SSO-only rule at password sign-in (asked only once the password is proven): the tenants of
    // the user's active memberships that enforce SSO, and whether the user is a break-glass admin.
    await db.query(`
      create function app.sso_enforcement(p_user_id uuid)
        returns table (tenant_id uuid, slug text, name text, break_glass boolean)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select t.id, t.slug, t.name, p_user_id = any (c.break_glass_user_ids)
          from public.memberships m
          join public.sso_connections c on c.tenant_id = m.tenant_id and c.enforce
          join public.tenants t on t.id = m.tenant_id
          where m.user_id = p_user_id and m.status = 'active'
          order by t.slug
        $$`);
    // The certificate watch visits every tenant that has a connection (ids only).
    await db.query(`
      create function app.sso_connection_tenants() returns setof uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select c.tenant_id from public.sso_connections c order by c.tenant_id $$`);
    for (const fn of [
      'sso_tenant(text)',
      'sso_account(text)',
      'sso_enforcement(uuid)',
      'sso_connection_tenants()',
    ]) {
      await db.query(`revoke all on function app.${fn} from public`);
      await db.query(`grant execute on function app.${fn} to forecourt_runtime`);
    }

    await db.query(`grant select, insert, update on sso_connections to forecourt_runtime`);
    await db.query(`grant select, insert, delete on saml_requests, saml_assertions to forecourt_runtime`);
    await db.query(`grant select, insert, update on sso_tests to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `drop function app.sso_connection_tenants(), app.sso_enforcement(uuid), app.sso_account(text), app.sso_tenant(text)`,
    );
    await db.query(`alter table users drop column sso_tenant_id`);
    await db.query(`drop table sso_tests, saml_assertions, saml_requests, sso_connections`);
  }
}
