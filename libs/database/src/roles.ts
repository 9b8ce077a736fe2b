import { Client, ClientConfig, escapeIdentifier } from 'pg';

/** The NOLOGIN group role that every grant and policy names; the API's login role joins it. */
export const RUNTIME_GROUP_ROLE = 'forecourt_runtime';

/** Thrown when the runtime role could bypass row-level security. */
export class UnsafeRuntimeRoleError extends Error {
  constructor(
    readonly role: string,
    reason: string,
  ) {
    super(
      `DATABASE_URL: the runtime role "${role}" ${reason}; Forecourt refuses to serve with a role that can bypass row-level security (see docs/database.md)`,
    );
    this.name = 'UnsafeRuntimeRoleError';
  }
}

/** Runs `work` on a new connection that is closed afterwards, whatever happens. */
export async function withClient<T>(config: ClientConfig, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Refuses a runtime role that is a superuser, has BYPASSRLS, owns a table (an owner may switch
 * row-level security off), or may become such a role through membership (SET ROLE).
 */
export async function assertSafeRuntimeRole(runtime: ClientConfig): Promise<void> {
  await withClient(runtime, async (client) => {
    const { rows } = await client.query<{
      role: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      owned: string | null;
      member_of_owner: string | null;
      member_of_privileged: string | null;
    }>(`
      select r.rolname as role, r.rolsuper, r.rolbypassrls,
        (select c.relname from pg_class c
          where c.relowner = r.oid and c.relkind in ('r', 'p')
            and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
          limit 1) as owned,
        (select o.rolname from pg_class c join pg_roles o on o.oid = c.relowner
          where c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace
            and o.oid <> r.oid and pg_has_role(r.oid, o.oid, 'MEMBER')
          limit 1) as member_of_owner,
        (select g.rolname from pg_roles g
          where g.oid <> r.oid and (g.rolsuper or g.rolbypassrls) and pg_has_role(r.oid, g.oid, 'MEMBER')
          limit 1) as member_of_privileged
      from pg_roles r where r.rolname = current_user`);
    const role = rows[0];
    if (!role) throw new Error('the runtime role was not found in pg_roles');
    if (role.rolsuper) throw new UnsafeRuntimeRoleError(role.role, 'is a superuser');
    if (role.rolbypassrls) throw new UnsafeRuntimeRoleError(role.role, 'has BYPASSRLS');
    if (role.owned) {
      throw new UnsafeRuntimeRoleError(
        role.role,
        `owns table "${role.owned}" (set MIGRATION_DATABASE_URL to the schema owner's connection)`,
      );
    }
    if (role.member_of_privileged) {
      throw new UnsafeRuntimeRoleError(
        role.role,
        `is a member of "${role.member_of_privileged}", which is a superuser or has BYPASSRLS`,
      );
    }
    if (role.member_of_owner) {
      throw new UnsafeRuntimeRoleError(role.role, `is a member of the table owner "${role.member_of_owner}"`);
    }
  });
}

/** As the schema owner: lets the runtime login role act as the runtime group. */
export async function grantRuntimeGroup(owner: ClientConfig, runtimeUser: string): Promise<void> {
  await withClient(owner, async (client) => {
    const { rows } = await client.query<{ member: boolean }>(
      `select pg_has_role($1, $2, 'USAGE') as member`,
      [runtimeUser, RUNTIME_GROUP_ROLE],
    );
    if (!rows[0]?.member) {
      await client.query(`grant ${RUNTIME_GROUP_ROLE} to ${escapeIdentifier(runtimeUser)}`);
    }
    await client.query(`grant select on schema_migrations to ${RUNTIME_GROUP_ROLE}`);
  });
}

export interface EmbeddedRoles {
  ownerPassword: string;
  runtimePassword: string;
}

export const EMBEDDED_DATABASE = 'forecourt';
export const EMBEDDED_OWNER_ROLE = 'forecourt_owner';
export const EMBEDDED_RUNTIME_ROLE = 'forecourt_app';

/**
 * As the embedded cluster's superuser: the schema owner (may create the group roles the
 * migrations declare), the runtime login role (owns nothing, no BYPASSRLS) and the database.
 * Idempotent; passwords are re-applied so the credentials file stays the truth.
 */
export async function bootstrapEmbeddedRoles(superuser: ClientConfig, roles: EmbeddedRoles): Promise<void> {
  await withClient({ ...superuser, database: 'postgres' }, async (client) => {
    const ensureRole = async (name: string, attributes: string, password: string) => {
      const { rowCount } = await client.query(`select 1 from pg_roles where rolname = $1`, [name]);
      const verb = rowCount ? 'alter' : 'create';
      await client.query(
        `${verb} role ${escapeIdentifier(name)} with ${attributes} password ${client.escapeLiteral(password)}`,
      );
    };
    await ensureRole(EMBEDDED_OWNER_ROLE, 'login nosuperuser nobypassrls createrole', roles.ownerPassword);
    await ensureRole(
      EMBEDDED_RUNTIME_ROLE,
      'login nosuperuser nobypassrls nocreaterole',
      roles.runtimePassword,
    );
    const { rowCount } = await client.query(`select 1 from pg_database where datname = $1`, [
      EMBEDDED_DATABASE,
    ]);
    if (!rowCount) {
      await client.query(
        `create database ${escapeIdentifier(EMBEDDED_DATABASE)} owner ${escapeIdentifier(EMBEDDED_OWNER_ROLE)}`,
      );
    }
  });
}
