-- Forecourt: roles and database on a production PostgreSQL (15 or later).
--
-- Run once, as a superuser (or a role with CREATEROLE and CREATEDB), with psql 15 or later:
--
--   FORECOURT_OWNER_PASSWORD=... FORECOURT_APP_PASSWORD=... \
--     psql -v ON_ERROR_STOP=1 -d postgres -f deploy/postgres-init.sql
--
-- docker-compose.yml mounts this file into the postgres image's /docker-entrypoint-initdb.d,
-- which runs it on the first start of an empty data volume.
--
-- Then configure the API with
--   MIGRATION_DATABASE_URL=postgres://forecourt_owner:<owner password>@<host>:5432/forecourt
--   DATABASE_URL=postgres://forecourt_app:<app password>@<host>:5432/forecourt
-- (URL-encode the passwords, or generate them as hex: openssl rand -hex 24).

\set ON_ERROR_STOP on
\getenv owner_password FORECOURT_OWNER_PASSWORD
\getenv app_password FORECOURT_APP_PASSWORD

\if :{?owner_password}
\else
  do $$ begin raise exception 'FORECOURT_OWNER_PASSWORD is not set'; end $$;
\endif
\if :{?app_password}
\else
  do $$ begin raise exception 'FORECOURT_APP_PASSWORD is not set'; end $$;
\endif

-- The schema owner: runs the migrations, owns every table, function and policy.
-- No superuser, no BYPASSRLS: FORCE ROW LEVEL SECURITY applies to it as well.
create role forecourt_owner login nosuperuser nobypassrls nocreaterole nocreatedb
  password :'owner_password';

-- The API's login role: owns nothing, cannot bypass row-level security.
create role forecourt_app login nosuperuser nobypassrls nocreaterole nocreatedb
  password :'app_password';

-- The group every grant and policy names. The first migration creates it when it is missing
-- (which needs CREATEROLE); creating it here lets the owner do without. The API grants it to
-- its login role at start-up unless, as here, that role is a member already.
create role forecourt_runtime nologin;
grant forecourt_runtime to forecourt_app;

-- The database belongs to the schema owner, so on PostgreSQL 15+ the owner also owns the
-- `public` schema's rights (pg_database_owner) and the runtime role may create nothing in it.
create database forecourt owner forecourt_owner;

-- Only the runtime group (and the owner) may connect; nobody else may create temporary tables.
revoke all on database forecourt from public;
grant connect on database forecourt to forecourt_runtime;
