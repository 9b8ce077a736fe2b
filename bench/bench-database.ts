import { randomBytes } from 'node:crypto';
import { Client, ClientConfig, Pool } from 'pg';
import { newId } from '@forecourt/core';
import {
  bootstrapEmbeddedRoles,
  EMBEDDED_OWNER_ROLE,
  EMBEDDED_RUNTIME_ROLE,
  EmbeddedCluster,
  grantRuntimeGroup,
  migrateSchema,
  postgresUrl,
  withClient,
} from '@forecourt/database';
import { MIGRATIONS } from '../migrations';

const BENCH_DATABASE = 'forecourt_bench';

/** The table the database baseline reads: a copy of `stores` without row-level security. */
export const PLAIN_TABLE = 'bench_accounts';

/** The columns every read returns, whichever table it reads. */
export const READ_COLUMNS = 'id, name, brands, created_at';

/** A throw-away cluster with a migrated, seeded database, and how to reach it. */
export interface BenchDatabase {
  /** The superuser (set-up and the database baseline only). */
  admin: ClientConfig;
  /** The API's role: owns nothing, no BYPASSRLS. */
  runtimeUrl: string;
  serverVersion: string;
  tenantId: string;
  storeIds: string[];
  /** Members of the tenant with the dealer_admin role: who the audited read signs in as. */
  adminIds: string[];
  /** Members of the tenant with the dealer_sales role: whom the audited read reads. */
  memberIds: string[];
  close(): Promise<void>;
}

/** What {@link startBenchDatabase} seeds into the one tenant. */
export interface BenchSeed {
  stores: number;
  /** dealer_admin members (one session each). */
  admins: number;
  /** dealer_sales members (the users the audited read reads). */
  members: number;
}

/**
 * Starts an embedded PostgreSQL (fsync off: nothing here needs to survive), migrates a database
 * as the schema owner the way `npm start` does, and seeds one tenant with stores and members.
 */
export async function startBenchDatabase(seed: BenchSeed): Promise<BenchDatabase> {
  const cluster = await EmbeddedCluster.startTemporary({ prefix: 'forecourt-bench-' });
  const close = () => cluster.stop();
  try {
    const roles = {
      ownerPassword: randomBytes(16).toString('hex'),
      runtimePassword: randomBytes(16).toString('hex'),
    };
    const superuser = cluster.connectionConfig('postgres');
    await bootstrapEmbeddedRoles(superuser, roles);
    await withClient(superuser, (client) =>
      client.query(`create database ${BENCH_DATABASE} owner ${EMBEDDED_OWNER_ROLE}`),
    );
    const url = (user: string, password: string) =>
      postgresUrl('127.0.0.1', cluster.port, user, password, BENCH_DATABASE);
    const ownerUrl = url(EMBEDDED_OWNER_ROLE, roles.ownerPassword);
    await migrateSchema(ownerUrl, MIGRATIONS);
    await grantRuntimeGroup({ connectionString: ownerUrl }, EMBEDDED_RUNTIME_ROLE);

    const runtimeUrl = url(EMBEDDED_RUNTIME_ROLE, roles.runtimePassword);
    const { tenantId, storeIds } = await seedTenant(runtimeUrl, seed.stores);
    const admin = cluster.connectionConfig(BENCH_DATABASE);
    const adminIds = Array.from({ length: seed.admins }, () => newId());
    const memberIds = Array.from({ length: seed.members }, () => newId());
    const serverVersion = await withClient(admin, async (client) => {
      await createPlainCopy(client);
      await seedMembers(client, tenantId, [
        { role: 'dealer_admin', ids: adminIds },
        { role: 'dealer_sales', ids: memberIds },
      ]);
      const { rows } = await client.query<{ version: string }>(
        `select current_setting('server_version') as version`,
      );
      return rows[0]?.version ?? 'unknown';
    });
    return { admin, runtimeUrl, serverVersion, tenantId, storeIds, adminIds, memberIds, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** As the runtime role with the tenant context set, so the rows pass row-level security. */
async function seedTenant(
  runtimeUrl: string,
  storeCount: number,
): Promise<{ tenantId: string; storeIds: string[] }> {
  const tenantId = newId();
  const storeIds = Array.from({ length: storeCount }, () => newId());
  const pool = new Pool({ connectionString: runtimeUrl, max: 1 });
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(
      `select set_config('app.tenant_id', $1, true), set_config('app.store_ids', '*', true)`,
      [tenantId],
    );
    await client.query(`insert into tenants (id, slug, name) values ($1, 'bench-group', 'Bench Group')`, [
      tenantId,
    ]);
    await client.query(
      `insert into stores (tenant_id, id, name, brands)
       select $1, id, 'Store ' || ordinality, '{Skoda,Kia}' from unnest($2::uuid[]) with ordinality as s(id, ordinality)`,
      [tenantId, storeIds],
    );
    await client.query('commit');
  } finally {
    client.release();
    await pool.end();
  }
  return { tenantId, storeIds };
}

/**
 * As the superuser (who is not subject to row-level security): the same rows in a table with the
 * same columns and primary key but no policies, readable by the runtime role.
 */
async function createPlainCopy(admin: Client): Promise<void> {
  await admin.query(`create table ${PLAIN_TABLE} (like stores including all)`);
  await admin.query(`insert into ${PLAIN_TABLE} select * from stores`);
  await admin.query(`grant select on ${PLAIN_TABLE} to ${EMBEDDED_RUNTIME_ROLE}`);
  await admin.query(`vacuum analyze ${PLAIN_TABLE}`);
  await admin.query(`vacuum analyze stores`);
}

/**
 * As the superuser (set-up only, like the plain copy): users and their active memberships of the
 * tenant. No passwords: the bench server issues their sessions directly (`Sessions.issue`).
 */
async function seedMembers(
  admin: Client,
  tenantId: string,
  groups: readonly { role: string; ids: readonly string[] }[],
): Promise<void> {
  for (const { role, ids } of groups) {
    await admin.query(
      `insert into users (id, email, name)
       select id, $2 || ordinality || '@bench.example', 'Bench ' || $2 || ' ' || ordinality
         from unnest($1::uuid[]) with ordinality as u(id, ordinality)`,
      [ids, role.replace('_', '-')],
    );
    await admin.query(
      `insert into memberships (tenant_id, id, user_id, role, all_stores)
       select $1, gen_random_uuid(), id, $3, $3 = 'dealer_admin' from unnest($2::uuid[]) as u(id)`,
      [tenantId, ids, role],
    );
  }
  await admin.query('vacuum analyze users');
  await admin.query('vacuum analyze memberships');
}

/** Event timestamps of generated chains start here, one millisecond apart. */
const GENERATED_FROM = '2026-01-01T00:00:00Z';

/**
 * As the superuser (not subject to row-level security; the append-only trigger only guards
 * UPDATE, DELETE and TRUNCATE): `count` unsealed events of the chain `tenantId`, shaped like the
 * `user.read` events of the audited read — actor, role, subject, request id, IP, user agent — with
 * `at` one millisecond apart (millisecond precision, as the trail stores it). Then ANALYZE, as
 * autovacuum would after such an insert, so the sealer's queries are planned on real statistics.
 */
export async function insertUnsealedEvents(
  admin: ClientConfig,
  tenantId: string,
  count: number,
  actorId: string,
): Promise<void> {
  await withClient(admin, async (client) => {
    await client.query(
      `insert into audit_events (tenant_id, id, at, actor_id, actor_role, action, subject_type, subject_id,
         request_id, ip, user_agent, outcome)
       select $1, gen_random_uuid(), $3::timestamptz + g * interval '1 millisecond', $4, 'dealer_admin',
         'user.read', 'User', md5(g::text)::uuid::text, 'req-' || lpad(to_hex(g), 12, '0'),
         '10.0.' || (g / 250 % 250) || '.' || (g % 250),
         'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
         'allowed'
       from generate_series(1, $2::integer) as g`,
      [tenantId, count, GENERATED_FROM, actorId],
    );
    await client.query('analyze audit_events');
  });
}
