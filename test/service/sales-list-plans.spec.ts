import { Pool } from 'pg';
import { abilityFor, type AppAbility } from '@forecourt/authz';
import { encodeCursor } from '@forecourt/core';
import { bookingListQuery, customerListQuery, dealListQuery, leadListQuery } from '@forecourt/leads';
import {
  createTestDatabase,
  inTenant,
  seedTenant,
  type SeededTenant,
  type TestDatabase,
} from '@forecourt/test-harness';

/**
 * The lead, deal and booking lists join the customer to each row and page in id order. Planned
 * as the API sends them — as the runtime role, inside a tenant, among many tenants — each page must
 * walk its table's index in id order and stop at the page: no Sort. An inner join does not (the
 * planner estimates a tenant's leads joined to its customers at a row or so, over every tenant's
 * customers, and then sorts the whole tenant for each page); the control at the end shows that
 * this data makes it do so.
 */

const TENANTS = 40;
const CUSTOMERS_PER_TENANT = 500;

let db: TestDatabase;
let runtime: Pool;
let tenant: SeededTenant;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

const adminAbility = (): AppAbility =>
  abilityFor({
    where: 'tenant',
    userId: tenant.userIds[0],
    platformRole: null,
    membership: { tenantId: tenant.id, role: 'dealer_admin', allStores: true, storeIds: [] },
  });

const salesAbility = (): AppAbility =>
  abilityFor({
    where: 'tenant',
    userId: tenant.userIds[1],
    platformRole: null,
    membership: {
      tenantId: tenant.id,
      role: 'dealer_sales',
      allStores: false,
      storeIds: [tenant.storeIds[0]],
    },
  });

async function planOf(
  statement: { sql: string; params: unknown[] },
  options: { noSeqScan?: boolean } = {},
): Promise<PlanNode[]> {
  return inTenant(runtime, { tenantId: tenant.id }, async (client) => {
    if (options.noSeqScan) await client.query('set local enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `explain (format json) ${statement.sql}`,
      statement.params,
    );
    return nodes(rows[0]!['QUERY PLAN'][0].Plan);
  });
}

/** The page walks `index` (on `table`, aliased `alias`) in id order: no sort by the id. */
function expectWalked(plan: PlanNode[], table: string, index: string): void {
  const alias = table[0];
  const sortsById = plan.filter(
    (node) => /Sort/.test(node['Node Type']) && (node['Sort Key'] ?? []).includes(`${alias}.id`),
  );
  expect(sortsById).toEqual([]);
  const scans = plan.filter((node) => node['Relation Name'] === table);
  expect(scans.map((node) => node['Index Name'])).toEqual([index]);
}

beforeAll(async () => {
  db = await createTestDatabase();
  runtime = new Pool({ connectionString: db.runtimeUrl, max: 2 });
  tenant = await seedTenant(runtime, 'plans');
  const admin = new Pool({ connectionString: db.adminUrl, max: 1 });
  const client = await admin.connect();
  try {
    // The measured tenant among others, its rows spread between theirs. Other tenants' rows point at
    // ids of their own (foreign-key triggers are off for the load: only the statistics matter).
    await client.query('begin');
    await client.query(`set local session_replication_role = replica`);
    await client.query(
      `create temporary table plan_tenants on commit drop as
         select t, case when t = 0 then $1::uuid else gen_random_uuid() end as tenant_id,
                case when t = 0 then $2::uuid[] else array[gen_random_uuid(), gen_random_uuid()] end as stores,
                case when t = 0 then $3::uuid[] else array[gen_random_uuid(), gen_random_uuid()] end as users
           from generate_series(0, $4 - 1) t`,
      [tenant.id, tenant.storeIds, tenant.userIds.slice(0, 2), TENANTS],
    );
    await client.query(
      `create temporary table plan_customers on commit drop as
         select p.tenant_id, gen_random_uuid() as id, p.stores[1 + g % 2] as store_id, p.users[1 + g % 2] as user_id, g
           from generate_series(1, $1) g cross join plan_tenants p
          order by g, p.t`,
      [CUSTOMERS_PER_TENANT],
    );
    await client.query(
      `insert into customers (tenant_id, id, store_id, name, email, phone)
       select tenant_id, id, store_id, 'Customer ' || g, 'c' || g || '@example.test',
              '+1555' || lpad((g * 7919 % 10000000)::text, 7, '0')
         from plan_customers`,
    );
    // Two leads per customer, assigned to a member of the customer's store.
    await client.query(
      `insert into leads (tenant_id, id, store_id, customer_id, source, assigned_user_id)
       select tenant_id, gen_random_uuid(), store_id, id, 'web', user_id
         from plan_customers cross join generate_series(1, 2)`,
    );
    await client.query(
      `insert into deals (tenant_id, id, store_id, customer_id, vehicle_id, price_minor, currency, assigned_user_id)
       select tenant_id, gen_random_uuid(), store_id, id, gen_random_uuid(), 1500000, 'EUR', user_id
         from plan_customers`,
    );
    await client.query(
      `insert into bookings (tenant_id, id, lead_id, store_id, kind, starts_at, ends_at, assigned_user_id)
       select l.tenant_id, gen_random_uuid(), l.id, l.store_id, 'appointment',
              now() + make_interval(hours => g::int), now() + make_interval(hours => g::int + 1), l.assigned_user_id
         from (select *, row_number() over () as g from leads) l`,
    );
    await client.query('commit');
    await client.query('analyze customers, leads, deals, bookings');
  } finally {
    client.release();
    await admin.end();
  }
});

afterAll(async () => {
  await runtime.end();
  await db.drop();
});

describe('the sales-floor lists walk their table in id order and stop at the page', () => {
  it('leads, dealer_admin: first page and a page after a cursor', async () => {
    expectWalked(await planOf(leadListQuery(tenant.id, adminAbility(), {}, 50)), 'leads', 'leads_pkey');
    const middle = await middleId('leads');
    expectWalked(
      await planOf(leadListQuery(tenant.id, adminAbility(), { cursor: encodeCursor(middle) }, 50)),
      'leads',
      'leads_pkey',
    );
  });

  it('leads, dealer_sales: only their share of the tenant is read, through the assignee or store index', async () => {
    // The planner cannot know that a member's leads are all in the member's store (it multiplies
    // the filters' selectivities), so it may expect a handful and sort them: the sort is then
    // bounded by that share, never by the tenant.
    const statement = leadListQuery(tenant.id, salesAbility(), {}, 50);
    expect(statement.sql).toMatch(/assigned_user_id/);
    const plan = await planOf(statement);
    const leads = plan.filter(
      (node) => node['Relation Name'] === 'leads' || /^leads_/.test(node['Index Name'] ?? ''),
    );
    expect(leads.length).toBeGreaterThan(0);
    for (const node of leads)
      expect(['leads_by_assignee', 'leads_by_store', undefined]).toContain(node['Index Name']);
    expect(leads.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    expect(leads.some((node) => /leads_by_(assignee|store)/.test(node['Index Name'] ?? ''))).toBe(true);
  });

  it('deals and bookings, dealer_admin', async () => {
    expectWalked(await planOf(dealListQuery(tenant.id, adminAbility(), {}, 50)), 'deals', 'deals_pkey');
    expectWalked(
      await planOf(bookingListQuery(tenant.id, adminAbility(), {}, 50)),
      'bookings',
      'bookings_pkey',
    );
  });

  it('customers: a search reaches the name, e-mail and phone-ending indexes under row-level security', async () => {
    const byText = await planOf(customerListQuery(tenant.id, adminAbility(), { q: 'Zed' }, 50), {
      noSeqScan: true,
    });
    const textIndexes = byText.map((node) => node['Index Name']).filter(Boolean);
    expect(textIndexes).toEqual(expect.arrayContaining(['customers_by_name', 'customers_by_email']));
    const byPhone = await planOf(customerListQuery(tenant.id, adminAbility(), { q: '012-345' }, 50), {
      noSeqScan: true,
    });
    expect(byPhone.map((node) => node['Index Name'])).toContain('customers_by_phone_end');
    expectWalked(
      await planOf(customerListQuery(tenant.id, adminAbility(), {}, 50)),
      'customers',
      'customers_pkey',
    );
  });

  it('(the check itself catches the inner join: this data makes the planner sort the tenant)', async () => {
    const statement = leadListQuery(tenant.id, adminAbility(), {}, 50);
    const inner = { ...statement, sql: statement.sql.replace('left join customers', 'join customers') };
    expect(inner.sql).not.toBe(statement.sql);
    const plan = await planOf(inner);
    expect(plan.some((node) => node['Node Type'] === 'Sort' && node['Sort Key']?.includes('l.id'))).toBe(
      true,
    );
  });
});

/** An id from the middle of the measured tenant's rows of `table`. */
async function middleId(table: 'leads'): Promise<string> {
  return inTenant(runtime, { tenantId: tenant.id }, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `select id from ${table} where tenant_id = $1 order by id offset (select count(*) / 2 from ${table}) limit 1`,
      [tenant.id],
    );
    return rows[0]!.id;
  });
}
