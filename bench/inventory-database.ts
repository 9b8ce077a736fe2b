import { randomBytes } from 'node:crypto';
import { Client, ClientConfig } from 'pg';
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

/** The tenant whose list is measured: the same id, stores, vehicles and admin in both databases. */
export const MEASURED_TENANT = '01a2c0de-0000-4000-8000-000000000006';
export const MEASURED_ADMIN = '01a2c0de-0000-4000-8000-0000000000ad';
/** Stores of the measured tenant; other tenants have 3 to 8. */
export const MEASURED_STORES = 8;
/** Vehicles of the measured tenant. */
export const MEASURED_VEHICLES = 10_000;

/** Make and model of the generated vehicles: the `n`-th vehicle gets pair `hash(n) % length`. */
export const MODELS: readonly (readonly [string, string])[] = [
  ['Toyota', 'Corolla'],
  ['Toyota', 'Yaris'],
  ['Toyota', 'RAV4'],
  ['Volkswagen', 'Golf'],
  ['Volkswagen', 'Polo'],
  ['Volkswagen', 'Passat'],
  ['Ford', 'Focus'],
  ['Ford', 'Fiesta'],
  ['Honda', 'Civic'],
  ['Honda', 'Accord'],
  ['Skoda', 'Octavia'],
  ['Kia', 'Sportage'],
  ['Hyundai', 'i30'],
  ['BMW', '3 Series'],
  ['Renault', 'Clio'],
  ['Peugeot', '208'],
];

const TRIMS = ['Comfort', 'Sport', 'Active', 'Highline', 'Base'];

/** One migrated database of the cluster, and how to reach it. */
export interface InventoryDatabase {
  name: string;
  /** The superuser (set-up and EXPLAIN only). */
  admin: ClientConfig;
  /** The API's role: owns nothing, no BYPASSRLS. */
  runtimeUrl: string;
  /** Rows in `vehicles` after generation, every tenant's. */
  vehicles: number;
  tenants: number;
  /** Seconds spent generating and analysing. */
  generatedSeconds: number;
}

export interface InventoryCluster {
  serverVersion: string;
  crowded: InventoryDatabase;
  alone: InventoryDatabase;
  /** The measured tenant's store ids, in the same order in both databases. */
  storeIds: string[];
  close(): Promise<void>;
}

/** What the crowded database holds besides the measured tenant. */
export interface CrowdSize {
  otherTenants: number;
  vehiclesPerTenant: number;
}

/**
 * One throw-away embedded cluster (fsync off) with two databases migrated as the schema owner, the
 * way `npm start` migrates: `crowded` (the measured tenant among `otherTenants` tenants with
 * `vehiclesPerTenant` vehicles each) and `alone` (the measured tenant only). The measured tenant's
 * rows are identical in both; in `crowded` they are interleaved with everyone else's in insertion
 * (and id) order, as stock taken in over time by many groups would be.
 */
export async function startInventoryCluster(
  crowd: CrowdSize,
  progress: (line: string) => void,
): Promise<InventoryCluster> {
  const cluster = await EmbeddedCluster.startTemporary({ prefix: 'forecourt-bench-inventory-' });
  const close = () => cluster.stop();
  try {
    const roles = {
      ownerPassword: randomBytes(16).toString('hex'),
      runtimePassword: randomBytes(16).toString('hex'),
    };
    await bootstrapEmbeddedRoles(cluster.connectionConfig('postgres'), roles);
    const prepare = async (
      name: string,
      others: CrowdSize,
      withOthers: boolean,
      anchor: Date,
    ): Promise<InventoryDatabase> => {
      await withClient(cluster.connectionConfig('postgres'), (client) =>
        client.query(`create database ${name} owner ${EMBEDDED_OWNER_ROLE}`),
      );
      const url = (user: string, password: string) =>
        postgresUrl('127.0.0.1', cluster.port, user, password, name);
      const ownerUrl = url(EMBEDDED_OWNER_ROLE, roles.ownerPassword);
      await migrateSchema(ownerUrl, MIGRATIONS);
      await grantRuntimeGroup({ connectionString: ownerUrl }, EMBEDDED_RUNTIME_ROLE);
      const admin = cluster.connectionConfig(name);
      const started = performance.now();
      const counts = await withClient(admin, (client) =>
        generate(client, others, withOthers, anchor, progress, name),
      );
      return {
        name,
        admin,
        runtimeUrl: url(EMBEDDED_RUNTIME_ROLE, roles.runtimePassword),
        ...counts,
        generatedSeconds: (performance.now() - started) / 1000,
      };
    };
    // One anchor for both databases: the measured tenant's ids (version 7, from the time) match.
    const anchor = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 30 * 86_400_000);
    const crowded = await prepare('forecourt_crowded', crowd, true, anchor);
    const alone = await prepare('forecourt_alone', crowd, false, anchor);
    const { serverVersion, storeIds } = await withClient(alone.admin, async (client) => {
      const version = await client.query<{ version: string }>(
        `select current_setting('server_version') as version`,
      );
      const stores = await client.query<{ id: string }>(
        `select id from stores where tenant_id = $1 order by name`,
        [MEASURED_TENANT],
      );
      return {
        serverVersion: version.rows[0]?.version ?? 'unknown',
        storeIds: stores.rows.map((row) => row.id),
      };
    });
    return { serverVersion, crowded, alone, storeIds, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * As the superuser (not subject to row-level security), in one session: tenants, stores, the
 * measured tenant's dealer_admin, then every vehicle in one `INSERT … SELECT … FROM
 * generate_series` (secondary indexes dropped meanwhile and rebuilt from their definitions
 * afterwards), then `VACUUM ANALYZE`. Row `g` of the series (1-based) belongs to the measured
 * tenant when `g % (others + 1) = 0` with `others = vehiclesPerTenant × otherTenants / 10,000`;
 * otherwise to another tenant, round-robin. Everything about a vehicle — store, make and model,
 * year, price, mileage, status, VIN — is a hash of its tenant's own running number, so the
 * measured tenant's rows do not depend on who else is in the database.
 */
async function generate(
  client: Client,
  crowd: CrowdSize,
  withOthers: boolean,
  anchor: Date,
  progress: (line: string) => void,
  name: string,
): Promise<{ vehicles: number; tenants: number }> {
  const others = crowd.otherTenants * crowd.vehiclesPerTenant;
  if (others % MEASURED_VEHICLES !== 0) throw new Error('other vehicles must be a multiple of 10,000');
  const stride = others / MEASURED_VEHICLES + 1; // every stride-th row is the measured tenant's
  const series = others + MEASURED_VEHICLES;
  const otherTenants = withOthers ? crowd.otherTenants : 0;
  await client.query(`set maintenance_work_mem = '512MB'`);
  await client.query(`set work_mem = '256MB'`);
  // A UUID (version 4 layout) from 32 hex digits, and a version 7 one at a given millisecond.
  await client.query(`
    create function pg_temp.uuid_of(h text) returns uuid language sql immutable as
      $$ select (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid $$`);
  await client.query(`
    create function pg_temp.uuid7_at(ms bigint, h text) returns uuid language sql immutable as
      $$ select (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid $$`);
  // Tenant 0 is the measured one; 1..n the others.
  await client.query(
    `create temporary table bench_tenants as
       select 0 as idx, $1::uuid as id, $2::int as stores
       union all
       select i, pg_temp.uuid_of(md5('tenant-' || i)), 3 + i % 6 from generate_series(1, $3::int) as i`,
    [MEASURED_TENANT, MEASURED_STORES, otherTenants],
  );
  await client.query(
    `insert into tenants (id, slug, name)
     select id, case idx when 0 then 'bench-group' else 'group-' || idx end,
            case idx when 0 then 'Bench Group' else 'Group ' || idx end
       from bench_tenants`,
  );
  await client.query(
    `insert into stores (tenant_id, id, name, brands)
     select t.id, pg_temp.uuid_of(md5(t.id::text || '-store-' || s)), 'Store ' || s, '{Toyota,Volkswagen,Ford}'
       from bench_tenants t, generate_series(1, t.stores) as s`,
  );
  await client.query(
    `insert into users (id, email, name) values ($1, 'admin@bench.example', 'Bench Admin')`,
    [MEASURED_ADMIN],
  );
  await client.query(
    `insert into memberships (tenant_id, id, user_id, role, all_stores)
     values ($1, gen_random_uuid(), $2, 'dealer_admin', true)`,
    [MEASURED_TENANT, MEASURED_ADMIN],
  );

  const makes = MODELS.map(([make]) => make);
  const models = MODELS.map(([, model]) => model);
  // The migration's secondary indexes (not those of a constraint) are dropped for the load and
  // rebuilt from their own definitions afterwards: the same indexes, built in bulk.
  const { rows: indexes } = await client.query<{ name: string; definition: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i
      where i.indrelid = 'vehicles'::regclass
        and not exists (select from pg_constraint c where c.conindid = i.indexrelid)`,
  );
  for (const index of indexes) await client.query(`drop index ${index.name}`);
  const started = performance.now();
  // `n`: the vehicle's running number within its tenant (1-based); `h`: hashes of it.
  await client.query(
    `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, trim, mileage, price_minor, currency,
       status, acquired_at, sold_at, created_at, updated_at)
     select t.id,
            pg_temp.uuid7_at(r.ms, md5(t.id::text || '-vehicle-' || r.n)),
            pg_temp.uuid_of(md5(t.id::text || '-store-' || (1 + r.h1 % t.stores))),
            'WVWZZZ' || lpad(r.n::text, 11, '0'),
            2005 + r.h2 % 22,
            ($4::text[])[1 + r.h3 % $6::int],
            ($5::text[])[1 + r.h3 % $6::int],
            case when r.h4 % 3 = 0 then null else ($7::text[])[1 + r.h4 % 5] end,
            least((2027 - (2005 + r.h2 % 22)) * (6000 + r.h5 % 14000), 10000000),
            300000 + (r.h5 * 7919::bigint) % 5700000,
            'EUR',
            case when r.h6 % 20 = 0 then 'sold' when r.h6 % 20 < 3 then 'reserved' else 'in_stock' end,
            r.at::date,
            case when r.h6 % 20 = 0 then least(r.at::date + 10 + r.h4 % 60, current_date) end,
            r.at, r.at
       from (
         select g, k.n, k.idx,
                (extract(epoch from k.at) * 1000)::bigint as ms, k.at,
                (2147483647 & hashint4(k.n * 31 + k.idx)) as h1, (2147483647 & hashint4(k.n * 37 + k.idx + 1)) as h2,
                (2147483647 & hashint4(k.n * 41 + k.idx + 2)) as h3, (2147483647 & hashint4(k.n * 43 + k.idx + 3)) as h4,
                (2147483647 & hashint4(k.n * 47 + k.idx + 4)) as h5, (2147483647 & hashint4(k.n * 53 + k.idx + 5)) as h6
           from generate_series(1, $1::int) as g,
           lateral (
             select case when g % $2 = 0 then 0 else 1 + (g - g / $2 - 1) % $3::int end as idx,
                    case when g % $2 = 0 then g / $2 else 1 + (g - g / $2 - 1) / $3::int end as n,
                    -- one vehicle a minute across the platform, ending at the anchor
                    $8::timestamptz - ($1::int - g) * interval '1 minute' as at
           ) as k
          where $9::boolean or g % $2 = 0
       ) as r
       join bench_tenants t on t.idx = r.idx
      order by r.g`,
    [series, stride, crowd.otherTenants, makes, models, MODELS.length, TRIMS, anchor, withOthers],
  );
  const inserted = withOthers ? series : MEASURED_VEHICLES;
  progress(
    `${name}: ${inserted.toLocaleString('en')} vehicles inserted in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const indexed = performance.now();
  await client.query('set max_parallel_maintenance_workers = 2');
  for (const index of indexes) await client.query(index.definition);
  progress(
    `${name}: ${indexes.length} secondary indexes rebuilt in ${((performance.now() - indexed) / 1000).toFixed(1)} s`,
  );
  const vacuumed = performance.now();
  for (const table of ['tenants', 'stores', 'users', 'memberships', 'vehicles']) {
    await client.query(`vacuum analyze ${table}`);
  }
  progress(`${name}: VACUUM ANALYZE in ${((performance.now() - vacuumed) / 1000).toFixed(1)} s`);
  const { rows } = await client.query<{ vehicles: number; tenants: number }>(
    `select (select count(*)::int from vehicles) as vehicles, (select count(*)::int from tenants) as tenants`,
  );
  return rows[0]!;
}
