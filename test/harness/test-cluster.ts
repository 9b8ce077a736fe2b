/**
 * The PostgreSQL cluster the whole test run shares. The global set-up starts it (or adopts
 * TEST_DATABASE_URL), migrates a template database once, and publishes how to reach it in an
 * environment variable; each test file then clones its own database from the template, so
 * files are isolated from each other without restarting the server.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const CLUSTER_ENV = 'FORECOURT_TEST_CLUSTER';
export const TEMPLATE_DATABASE = 'forecourt_template';
export const RUNTIME_ROLE = 'forecourt_app';
export const OWNER_ROLE = 'forecourt_owner';

export interface ClusterInfo {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  ownerPassword: string;
  runtimePassword: string;
}

export function clusterInfo(): ClusterInfo {
  const raw = process.env[CLUSTER_ENV];
  if (!raw) throw new Error(`${CLUSTER_ENV} is not set: run the tests through jest (npm test)`);
  return JSON.parse(raw) as ClusterInfo;
}

export function urlFor(info: ClusterInfo, user: string, password: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${info.host}:${info.port}/${database}`;
}

/** One test file's own database, cloned from the migrated template. */
export interface TestDatabase {
  name: string;
  /** The API's role: no ownership, no BYPASSRLS. */
  runtimeUrl: string;
  /** The schema owner (migrations). */
  ownerUrl: string;
  /** The cluster administrator (superuser): for set-up only, never for assertions about RLS. */
  adminUrl: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(info: ClusterInfo, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    host: info.host,
    port: info.port,
    user: info.adminUser,
    password: info.adminPassword,
    database: 'postgres',
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const info = clusterInfo();
  const name = `forecourt_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(info, (client) =>
    client.query(`create database ${name} template ${TEMPLATE_DATABASE} owner ${OWNER_ROLE}`),
  );
  return databaseNamed(info, name);
}

/** An empty database (no schema at all) owned by the schema owner: where a restore goes. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const info = clusterInfo();
  const name = `forecourt_empty_${randomBytes(6).toString('hex')}`;
  await asAdmin(info, (client) =>
    client.query(`create database ${name} template template0 owner ${OWNER_ROLE}`),
  );
  return databaseNamed(info, name);
}

/**
 * Waits (up to 2 s) until no session is connected to `database`. A pool's `end()` resolves before
 * the server has seen each connection's Terminate, and a forced drop then kills a connection that
 * was closing anyway: its FATAL 57P01 reaches a client nobody listens to any more, and jest fails
 * whichever test it lands in.
 */
async function untilDisconnected(client: Client, database: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { rows } = await client.query<{ sessions: number }>(
      'select count(*)::int as sessions from pg_stat_activity where datname = $1',
      [database],
    );
    if (rows[0]!.sessions === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function databaseNamed(info: ClusterInfo, name: string): TestDatabase {
  return {
    name,
    runtimeUrl: urlFor(info, RUNTIME_ROLE, info.runtimePassword, name),
    ownerUrl: urlFor(info, OWNER_ROLE, info.ownerPassword, name),
    adminUrl: urlFor(info, info.adminUser, info.adminPassword, name),
    drop: () =>
      asAdmin(info, async (client) => {
        await untilDisconnected(client, name);
        await client.query(`drop database if exists ${name} with (force)`);
      }),
  };
}
