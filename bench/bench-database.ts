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
  close(): Promise<void>;
}

/**
 * Starts an embedded PostgreSQL (fsync off: nothing here needs to survive), migrates a database
 * as the schema owner the way `npm start` does, and seeds one tenant with `storeCount` stores.
 */
export async function startBenchDatabase(storeCount: number): Promise<BenchDatabase> {
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
    const { tenantId, storeIds } = await seedTenant(runtimeUrl, storeCount);
    const admin = cluster.connectionConfig(BENCH_DATABASE);
    const serverVersion = await withClient(admin, async (client) => {
      await createPlainCopy(client);
      const { rows } = await client.query<{ version: string }>(
        `select current_setting('server_version') as version`,
      );
      return rows[0]?.version ?? 'unknown';
    });
    return { admin, runtimeUrl, serverVersion, tenantId, storeIds, close };
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
