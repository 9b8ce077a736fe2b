import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
import { PLAIN_TABLE } from './bench-database';

/** The tenant whose customers and leads are read. */
export const MEASURED_TENANT = '01a2c0de-0000-4000-8000-000000000007';
export const MEASURED_STORES = 5;
/** dealer_sales members per store of the measured tenant (each works that one store). */
export const MEASURED_SALES_PER_STORE = 4;
/** Leads of the measured tenant: two per customer, whatever the other tenants hold. */
export const MEASURED_LEADS = 5_000;
export const MEASURED_CUSTOMERS = MEASURED_LEADS / 2;
/** Rows of the raw route's table (`npm run bench` reads 5,000 stores the same way). */
export const ACCOUNT_ROWS = 5_000;

/** What the database holds besides the measured tenant. */
export interface CrowdSize {
  otherTenants: number;
  /** Leads per other tenant (even: two per customer). */
  leadsPerTenant: number;
}

/** A member of the measured tenant who signs in. */
export interface Member {
  userId: string;
  /** The one store a dealer_sales member works; null for the dealer_admin (all stores). */
  storeId: string | null;
}

/** A customer of the measured tenant, with the identifiers sealed into its row. */
export interface MeasuredCustomer {
  n: number;
  id: string;
  storeId: string;
  nationalId: string;
  driverLicense: string;
  sensitive: Record<string, string>;
}

/** The three sealed columns of one measured customer, as `TenantKeys.seal` returned them. */
export interface SealedColumns {
  n: number;
  nationalId: Buffer;
  driverLicense: Buffer;
  sensitive: Buffer;
}

export interface GeneratedCounts {
  tenants: number;
  stores: number;
  users: number;
  customers: number;
  leads: number;
  consentEvents: number;
  seconds: number;
}

/** Given the measured customers (ids known before any row exists), seals their identifiers. */
export type Sealer = (customers: readonly MeasuredCustomer[]) => Promise<SealedColumns[]>;

const FIRST = [
  'Anna',
  'Ben',
  'Clara',
  'David',
  'Emma',
  'Felix',
  'Greta',
  'Hannes',
  'Ida',
  'Jonas',
  'Katja',
  'Lukas',
  'Mia',
  'Noah',
  'Olga',
  'Paul',
];
const LAST = [
  'Schmidt',
  'Weber',
  'Fischer',
  'Meyer',
  'Wagner',
  'Becker',
  'Hoffmann',
  'Koch',
  'Richter',
  'Klein',
  'Wolf',
  'Neumann',
  'Braun',
  'Zimmermann',
  'Hartmann',
  'Lange',
];
const CITIES = ['Berlin', 'Hamburg', 'München', 'Köln', 'Frankfurt', 'Stuttgart', 'Leipzig', 'Dortmund'];
const SOURCES = ['website', 'walk_in', 'phone', 'referral', 'mobile.de', 'autoscout24'];
/** Seconds between two customers, and between two leads, across the platform. */
const CUSTOMER_EVERY_S = 20;
const LEAD_EVERY_S = 10;

/**
 * One throw-away embedded cluster (fsync and synchronous commit off), one database migrated as the
 * schema owner the way `npm start` migrates, and the runtime role granted. Nothing generated yet.
 */
export async function startLeadsCluster(): Promise<{
  cluster: EmbeddedCluster;
  admin: ClientConfig;
  runtimeUrl: string;
  /** The schema owner's connection (what backups read as). */
  ownerUrl: string;
  serverVersion: string;
  /** The postmaster's process id: its children are the cluster's backends and workers. */
  postmasterPid: number;
}> {
  const cluster = await EmbeddedCluster.startTemporary({ prefix: 'forecourt-bench-leads-' });
  try {
    const roles = {
      ownerPassword: randomBytes(16).toString('hex'),
      runtimePassword: randomBytes(16).toString('hex'),
    };
    await bootstrapEmbeddedRoles(cluster.connectionConfig('postgres'), roles);
    const name = 'forecourt_leads';
    await withClient(cluster.connectionConfig('postgres'), (client) =>
      client.query(`create database ${name} owner ${EMBEDDED_OWNER_ROLE}`),
    );
    const url = (user: string, password: string) =>
      postgresUrl('127.0.0.1', cluster.port, user, password, name);
    const ownerUrl = url(EMBEDDED_OWNER_ROLE, roles.ownerPassword);
    await migrateSchema(ownerUrl, MIGRATIONS);
    await grantRuntimeGroup({ connectionString: ownerUrl }, EMBEDDED_RUNTIME_ROLE);
    const admin = cluster.connectionConfig(name);
    const { serverVersion, postmasterPid } = await withClient(admin, async (client) => {
      const { rows } = await client.query<{ version: string; pid: number }>(
        `select current_setting('server_version') as version, pg_backend_pid() as pid`,
      );
      // While this backend lives: its parent is the postmaster.
      const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8');
      return {
        serverVersion: rows[0]?.version ?? 'unknown',
        postmasterPid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]),
      };
    });
    return {
      cluster,
      admin,
      ownerUrl,
      runtimeUrl: url(EMBEDDED_RUNTIME_ROLE, roles.runtimePassword),
      serverVersion,
      postmasterPid,
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/**
 * The generator: one superuser session (not subject to row-level security) for the whole load,
 * since its helper functions live in `pg_temp`. Everything about a row is a function of its
 * tenant's index and its running number within the tenant, so the measured tenant's ids are
 * known before anything is inserted (they are sealed into the rows: the seal binds the id).
 *
 * Rows are inserted in platform-wide time order: row `g` of a series belongs to the measured tenant
 * when `g % stride = 0`, otherwise to another tenant round-robin, so each tenant's customers and
 * leads are spread over the whole heap (one row in `stride`), as a shared database fills over time.
 */
export class LeadsGenerator {
  private readonly stride: number;
  private readonly customerSeries: number;
  private readonly leadSeries: number;

  private constructor(
    private readonly client: Client,
    private readonly crowd: CrowdSize,
    private readonly progress: (line: string) => void,
  ) {
    const others = crowd.otherTenants * (crowd.leadsPerTenant / 2);
    if (crowd.leadsPerTenant % 2 !== 0 || others % MEASURED_CUSTOMERS !== 0) {
      throw new Error(
        `other tenants × customers per tenant must be a multiple of ${MEASURED_CUSTOMERS} (and leads even)`,
      );
    }
    this.stride = others / MEASURED_CUSTOMERS + 1;
    this.customerSeries = others + MEASURED_CUSTOMERS;
    this.leadSeries = 2 * this.customerSeries;
  }

  static async open(
    admin: ClientConfig,
    crowd: CrowdSize,
    progress: (line: string) => void,
  ): Promise<LeadsGenerator> {
    const client = new Client(admin);
    await client.connect();
    const generator = new LeadsGenerator(client, crowd, progress);
    try {
      await generator.helpers();
    } catch (error) {
      await client.end();
      throw error;
    }
    return generator;
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  private async helpers(): Promise<void> {
    const anchor = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const { stride, customerSeries, leadSeries } = this;
    const tenants = this.crowd.otherTenants;
    const q = (sql: string) => this.client.query(sql);
    await q(`set maintenance_work_mem = '512MB'`);
    await q(`set work_mem = '256MB'`);
    // A UUID (version 4 layout) from 32 hex digits, and a version 7 one at a given millisecond.
    await q(`create function pg_temp.uuid_of(h text) returns uuid language sql immutable as
      $$ select (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid $$`);
    await q(`create function pg_temp.uuid7_at(ms bigint, h text) returns uuid language sql immutable as
      $$ select (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid $$`);
    // Position g of the customer series of tenant idx's customer n (the inverse of the interleaving).
    await q(`create function pg_temp.customer_g(idx int, n int) returns bigint language sql immutable as
      $$ select case when idx = 0 then n::bigint * ${stride}
                else ((n - 1)::bigint * ${tenants} + idx - 1) + 1
                     + ((n - 1)::bigint * ${tenants} + idx - 1) / nullif(${stride - 1}, 0) end $$`);
    // A customer is created a day before the first lead could be; leads follow one every 10 s.
    await q(`create function pg_temp.customer_ms(g bigint) returns bigint language sql immutable as
      $$ select ${anchor}::bigint - 86400000 - (${customerSeries}::bigint - g) * ${CUSTOMER_EVERY_S * 1000} $$`);
    await q(`create function pg_temp.lead_ms(g bigint) returns bigint language sql immutable as
      $$ select ${anchor}::bigint - (${leadSeries}::bigint - g) * ${LEAD_EVERY_S * 1000} $$`);
    await q(`create function pg_temp.customer_id(tenant uuid, idx int, n int) returns uuid language sql immutable as
      $$ select pg_temp.uuid7_at(pg_temp.customer_ms(pg_temp.customer_g(idx, n)), md5(tenant::text || '-customer-' || n)) $$`);
    await q(`create function pg_temp.store_id(tenant uuid, s int) returns uuid language sql immutable as
      $$ select pg_temp.uuid_of(md5(tenant::text || '-store-' || s)) $$`);
    await q(`create function pg_temp.sales_id(tenant uuid, s int, k int) returns uuid language sql immutable as
      $$ select pg_temp.uuid_of(md5(tenant::text || '-sales-' || s || '-' || k)) $$`);
  }

  /**
   * Tenants (0: the measured one), their stores, a dealer_admin (all stores) and dealer_sales
   * members (each working one store) per tenant, and the raw route's plain table. Returns the
   * measured tenant's members and customers (ids and the identifiers to seal, not yet inserted).
   */
  async seedTenants(): Promise<{
    admin: Member;
    sales: Member[];
    customers: MeasuredCustomer[];
    accountIds: string[];
  }> {
    const q = <R extends object = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      this.client.query<R & Record<string, unknown>>(sql, params);
    await q(
      `create temporary table bench_tenants as
         select 0 as idx, $1::uuid as id, $2::int as stores, $3::int as sales
         union all
         select i, pg_temp.uuid_of(md5('tenant-' || i)), 3 + i % 6, 2 from generate_series(1, $4::int) as i`,
      [MEASURED_TENANT, MEASURED_STORES, MEASURED_SALES_PER_STORE, this.crowd.otherTenants],
    );
    await q(`create unique index on bench_tenants (idx)`);
    await q(`analyze bench_tenants`);
    await q(
      `insert into tenants (id, slug, name)
       select id, case idx when 0 then 'bench-group' else 'group-' || idx end,
              case idx when 0 then 'Bench Group' else 'Group ' || idx end
         from bench_tenants`,
    );
    await q(
      `insert into stores (tenant_id, id, name, brands)
       select t.id, pg_temp.store_id(t.id, s), 'Store ' || s, '{Toyota,Volkswagen,Ford}'
         from bench_tenants t, generate_series(1, t.stores) as s`,
    );
    await q(
      `insert into users (id, email, name)
       select pg_temp.uuid_of(md5(t.id::text || '-admin')), 'admin-' || t.idx || '@bench.example', 'Admin ' || t.idx
         from bench_tenants t
       union all
       select pg_temp.sales_id(t.id, s, k), 'sales-' || t.idx || '-' || s || '-' || k || '@bench.example',
              'Sales ' || t.idx || '-' || s || '-' || k
         from bench_tenants t, generate_series(1, t.stores) as s, generate_series(1, t.sales) as k`,
    );
    await q(
      `insert into memberships (tenant_id, id, user_id, role, all_stores, store_ids)
       select t.id, gen_random_uuid(), pg_temp.uuid_of(md5(t.id::text || '-admin')), 'dealer_admin', true, '{}'
         from bench_tenants t
       union all
       select t.id, gen_random_uuid(), pg_temp.sales_id(t.id, s, k), 'dealer_sales', false,
              array[pg_temp.store_id(t.id, s)]
         from bench_tenants t, generate_series(1, t.stores) as s, generate_series(1, t.sales) as k`,
    );

    // The raw route's table, as `npm run bench` makes it: the columns, keys and checks of `stores`
    // (no policies, no foreign keys), readable by the runtime role; 5,000 rows of one tenant id.
    await q(`create table ${PLAIN_TABLE} (like stores including all)`);
    await q(
      `insert into ${PLAIN_TABLE} (tenant_id, id, name, brands)
       select $1, pg_temp.uuid_of(md5('account-' || i)), 'Account ' || i, '{Skoda,Kia}'
         from generate_series(1, $2::int) as i`,
      [MEASURED_TENANT, ACCOUNT_ROWS],
    );
    await q(`grant select on ${PLAIN_TABLE} to ${EMBEDDED_RUNTIME_ROLE}`);

    const admin = await q<{ id: string }>(`select pg_temp.uuid_of(md5($1::uuid::text || '-admin')) as id`, [
      MEASURED_TENANT,
    ]);
    const sales = await q<{ user_id: string; store_id: string }>(
      `select pg_temp.sales_id($1, s, k) as user_id, pg_temp.store_id($1, s) as store_id
         from generate_series(1, $2::int) as s, generate_series(1, $3::int) as k
        order by s, k`,
      [MEASURED_TENANT, MEASURED_STORES, MEASURED_SALES_PER_STORE],
    );
    const customers = await q<{ n: number; id: string; store_id: string }>(
      `select n, pg_temp.customer_id($1, 0, n) as id, pg_temp.store_id($1, 1 + (n - 1) % $2) as store_id
         from generate_series(1, $3::int) as n order by n`,
      [MEASURED_TENANT, MEASURED_STORES, MEASURED_CUSTOMERS],
    );
    const accounts = await q<{ id: string }>(`select id from ${PLAIN_TABLE} order by id`);
    return {
      admin: { userId: admin.rows[0]!.id, storeId: null },
      sales: sales.rows.map((row) => ({ userId: row.user_id, storeId: row.store_id })),
      customers: customers.rows.map((row) => ({
        n: row.n,
        id: row.id,
        storeId: row.store_id,
        ...identifiersOf(row.n),
      })),
      accountIds: accounts.rows.map((row) => row.id),
    };
  }

  /**
   * Every customer and lead in two `INSERT … SELECT … FROM generate_series` (the measured tenant's
   * sealed identifiers joined in from `sealed`; other tenants' are random bytes of a similar
   * length), with the migration's secondary indexes dropped meanwhile and rebuilt from their own
   * definitions afterwards, and foreign-key triggers not fired (`session_replication_role =
   * replica`: the rows are consistent by construction); two consent events per measured customer;
   * then `VACUUM ANALYZE`.
   */
  async generate(sealed: readonly SealedColumns[]): Promise<GeneratedCounts> {
    const started = performance.now();
    const q = (sql: string, params: unknown[] = []) => this.client.query(sql, params);
    const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
    // Sealed columns by running number (1-based), for the measured tenant's rows.
    const byN = [...sealed].sort((a, b) => a.n - b.n);
    if (byN.length !== MEASURED_CUSTOMERS || byN.some((row, index) => row.n !== index + 1)) {
      throw new Error(`expected sealed identifiers for customers 1..${MEASURED_CUSTOMERS}`);
    }
    // Each tenant's id, store count and sales members per store, by index + 1 (0: the measured one).
    const { rows: tenantRows } = await this.client.query<{ id: string; stores: number; sales: number }>(
      'select id, stores, sales from bench_tenants order by idx',
    );
    const tenantIds = tenantRows.map((row) => row.id);
    const storeCounts = tenantRows.map((row) => row.stores);
    const salesCounts = tenantRows.map((row) => row.sales);

    const { rows: indexes } = await this.client.query<{ name: string; definition: string }>(
      `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
         from pg_index i
        where i.indrelid in ('customers'::regclass, 'leads'::regclass)
          and not exists (select from pg_constraint c where c.conindid = i.indexrelid)`,
    );
    for (const index of indexes) await q(`drop index ${index.name}`);
    await q(`set session_replication_role = replica`);

    const stride = this.stride;
    const tenants = Math.max(this.crowd.otherTenants, 1);
    // Tenant index and running number of series row g (the interleaving described above).
    const interleave = (number: string) => `
      select case when g % $2 = 0 then 0 else 1 + ((g - g / $2 - 1) % $3::int)::int end as idx,
             case when g % $2 = 0 then (g / $2)::int else 1 + ((g - g / $2 - 1) / $3::int)::int end as ${number}`;
    let step = performance.now();
    // `n`: the customer's running number within its tenant (1-based); `h`: md5 of its tenant and n.
    // (`offset 0` keeps the subquery from being flattened, which would compute md5 once per use.)
    await q(
      `insert into customers (tenant_id, id, store_id, name, email, phone, address, national_id,
         driver_license, sensitive, notes, created_at, updated_at)
       select r.tenant,
              pg_temp.uuid7_at(r.ms, r.h),
              pg_temp.store_id(r.tenant, 1 + (r.n - 1) % r.stores),
              ($6::text[])[1 + r.h1 % 16] || ' ' || ($7::text[])[1 + r.h2 % 16],
              case when r.h3 % 5 = 0 then null
                   else lower(($6::text[])[1 + r.h1 % 16] || '.' || ($7::text[])[1 + r.h2 % 16]) || r.n || '@example.com' end,
              case when r.h3 % 10 = 1 then null else '+49151' || lpad((r.h4 % 10000000)::text, 7, '0') end,
              jsonb_build_object('line1', 'Hauptstraße ' || (1 + r.h4 % 200), 'city', ($8::text[])[1 + r.h5 % 8],
                'postalCode', lpad((r.h5 % 100000)::text, 5, '0'), 'country', 'DE'),
              case when r.idx = 0 then ($9::bytea[])[r.n] else decode(repeat(r.h, 3), 'hex') end,
              case when r.idx = 0 then ($10::bytea[])[r.n] else decode(repeat(reverse(r.h), 3), 'hex') end,
              case when r.idx = 0 then ($11::bytea[])[r.n] else decode(repeat(r.h, 5), 'hex') end,
              case when r.h5 % 7 = 0 then 'Prefers to be called in the evening.' end,
              to_timestamp(r.ms / 1000.0), to_timestamp(r.ms / 1000.0)
         from (
           select k.idx, k.n, pg_temp.customer_ms(g) as ms, ($4::uuid[])[k.idx + 1] as tenant,
                  ($5::int[])[k.idx + 1] as stores,
                  md5(($4::uuid[])[k.idx + 1]::text || '-customer-' || k.n) as h,
                  (2147483647 & hashint4(k.n * 31 + k.idx)) as h1, (2147483647 & hashint4(k.n * 37 + k.idx + 1)) as h2,
                  (2147483647 & hashint4(k.n * 41 + k.idx + 2)) as h3, (2147483647 & hashint4(k.n * 43 + k.idx + 3)) as h4,
                  (2147483647 & hashint4(k.n * 47 + k.idx + 4)) as h5
             from generate_series(1, $1::bigint) as g, lateral (${interleave('n')}) as k
           offset 0
         ) as r`,
      [
        this.customerSeries,
        stride,
        tenants,
        tenantIds,
        storeCounts,
        FIRST,
        LAST,
        CITIES,
        byN.map((row) => row.nationalId),
        byN.map((row) => row.driverLicense),
        byN.map((row) => row.sensitive),
      ],
    );
    this.progress(`${this.customerSeries.toLocaleString('en')} customers inserted in ${seconds(step)} s`);

    step = performance.now();
    // Lead m of a tenant is its customer c = (m + 1) / 2's first or second; assigned round-robin to
    // the sales members of the customer's store (so each member holds the same number of leads).
    await q(
      `insert into leads (tenant_id, id, store_id, customer_id, source, status, lost_reason, assigned_user_id,
         created_at, updated_at)
       select r.tenant,
              pg_temp.uuid7_at(r.ms, md5(r.tenant::text || '-lead-' || r.m)),
              pg_temp.store_id(r.tenant, 1 + (r.c - 1) % r.stores),
              pg_temp.customer_id(r.tenant, r.idx, r.c),
              ($7::text[])[1 + r.h1 % 6],
              case when r.h2 % 20 < 6 then 'new' when r.h2 % 20 < 11 then 'contacted'
                   when r.h2 % 20 < 14 then 'appointment' when r.h2 % 20 < 16 then 'negotiating'
                   when r.h2 % 20 < 18 then 'won' else 'lost' end,
              case when r.h2 % 20 >= 18 then 'Bought elsewhere' end,
              pg_temp.sales_id(r.tenant, 1 + (r.c - 1) % r.stores,
                1 + (2 * ((r.c - 1) / r.stores) + (r.m - 1) % 2) % r.sales),
              to_timestamp(r.ms / 1000.0), to_timestamp(r.ms / 1000.0)
         from (
           select k.idx, k.m, (k.m + 1) / 2 as c, pg_temp.lead_ms(g) as ms, ($4::uuid[])[k.idx + 1] as tenant,
                  ($5::int[])[k.idx + 1] as stores, ($6::int[])[k.idx + 1] as sales,
                  (2147483647 & hashint4(k.m * 53 + k.idx)) as h1, (2147483647 & hashint4(k.m * 59 + k.idx + 1)) as h2
             from generate_series(1, $1::bigint) as g, lateral (${interleave('m')}) as k
           offset 0
         ) as r`,
      [this.leadSeries, stride, tenants, tenantIds, storeCounts, salesCounts, SOURCES],
    );
    this.progress(`${this.leadSeries.toLocaleString('en')} leads inserted in ${seconds(step)} s`);

    // The measured tenant's consent ledger: e-mail marketing granted, SMS service granted or withdrawn.
    await q(
      `insert into consent_events (tenant_id, id, customer_id, store_id, channel, purpose, status, source, at)
       select c.tenant_id, gen_random_uuid(), c.id, c.store_id, x.channel, x.purpose,
              case when x.channel = 'sms' and hashtext(c.id::text) % 3 = 0 then 'withdrawn' else 'granted' end,
              'web form', c.created_at + x.after
         from customers c,
              (values ('email', 'marketing', interval '1 minute'), ('sms', 'service', interval '2 minutes'))
                as x(channel, purpose, after)
        where c.tenant_id = $1`,
      [MEASURED_TENANT],
    );
    await q(`set session_replication_role = origin`);

    step = performance.now();
    await q('set max_parallel_maintenance_workers = 2');
    for (const index of indexes) await q(index.definition);
    this.progress(`${indexes.length} secondary indexes rebuilt in ${seconds(step)} s`);
    step = performance.now();
    for (const table of [
      'tenants',
      'stores',
      'users',
      'memberships',
      'customers',
      'consent_events',
      'leads',
      PLAIN_TABLE,
    ]) {
      await q(`vacuum analyze ${table}`);
    }
    this.progress(`VACUUM ANALYZE in ${seconds(step)} s`);
    const { rows } = await this.client.query<Omit<GeneratedCounts, 'seconds'>>(
      `select (select count(*)::int from tenants) as tenants, (select count(*)::int from stores) as stores,
              (select count(*)::int from users) as users, (select count(*)::int from customers) as customers,
              (select count(*)::int from leads) as leads, (select count(*)::int from consent_events) as "consentEvents"`,
    );
    return { ...rows[0]!, seconds: (performance.now() - started) / 1000 };
  }
}

/** The identifiers of measured customer `n`: plausible, distinct, and known to the bench. */
function identifiersOf(n: number): Pick<MeasuredCustomer, 'nationalId' | 'driverLicense' | 'sensitive'> {
  const digits = (value: number, width: number) => String(value).padStart(width, '0');
  return {
    nationalId: `T${digits((n * 7_919) % 100_000_000, 8)}`,
    driverLicense: `B${digits((n * 104_729) % 1_000_000_000, 9)}X${n % 10}`,
    sensitive: { taxId: `DE${digits((n * 15_485_863) % 1_000_000_000, 9)}`, passport: `C0${digits(n, 7)}` },
  };
}
