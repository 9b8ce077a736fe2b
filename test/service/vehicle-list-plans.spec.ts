import { Pool } from 'pg';
import { abilityFor } from '@forecourt/authz';
import { vehicleListQuery } from '@forecourt/inventory';
import {
  createTestDatabase,
  inTenant,
  seedTenant,
  type SeededTenant,
  type TestDatabase,
} from '@forecourt/test-harness';

/**
 * Under row-level security only conditions made of LEAKPROOF operators reach an index: anything
 * else (`lower(column) = …`, LIKE, trigram matching) is applied after the policies, row by row,
 * over the whole tenant. So each filter of the vehicle list is planned here exactly as the API
 * sends it — as the runtime role, inside a tenant, with sequential scans priced out — and must
 * show its column in an index condition. A filter that cannot use its index fails here.
 */

let db: TestDatabase;
let runtime: Pool;
let tenant: SeededTenant;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function indexConditions(node: PlanNode): string[] {
  const own = node['Index Cond'] ? [`${node['Index Name']}: ${node['Index Cond']}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(indexConditions)];
}

async function planOf(query: Record<string, unknown>): Promise<string[]> {
  const ability = abilityFor({
    where: 'tenant',
    userId: tenant.userIds[0],
    platformRole: null,
    membership: { tenantId: tenant.id, role: 'dealer_admin', allStores: true, storeIds: [] },
  });
  const listing = vehicleListQuery(tenant.id, query, 50, ability);
  return inTenant(runtime, { tenantId: tenant.id }, async (client) => {
    await client.query('set local enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `explain (format json) ${listing.sql}`,
      listing.params,
    );
    return indexConditions(rows[0]!['QUERY PLAN'][0].Plan);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  runtime = new Pool({ connectionString: db.runtimeUrl, max: 2 });
  tenant = await seedTenant(runtime, 'plans');
  const other = await seedTenant(runtime, 'others');
  const admin = new Pool({ connectionString: db.adminUrl, max: 1 });
  // Enough rows, in two tenants, for the statistics to be real; each filter below asks for a rare
  // value, where an index is the plan to choose (the control at the end shows when it cannot be).
  for (const [owner, stores] of [
    [tenant.id, tenant.storeIds],
    [other.id, other.storeIds],
  ] as const) {
    await admin.query(
      `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, mileage, price_minor, currency)
       select $1, gen_random_uuid(), ($2::uuid[])[1 + g % 2], 'WVW' || lpad(upper(to_hex(g)), 14, '0'),
              1900 + g % 100, 'Make' || g % 100, 'Model' || g % 300, g, g * 100, 'EUR'
       from generate_series(1, 3000) g`,
      [owner, stores],
    );
  }
  await admin.query('analyze vehicles');
  await admin.end();
});

afterAll(async () => {
  await runtime.end();
  await db.drop();
});

describe('every vehicle-list filter reaches its index as the runtime role, under row-level security', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no filter (the keyset order)', {}, /vehicles_pkey: .*tenant_id = /],
    ['storeId', { storeId: '$store' }, /vehicles_by_store: .*store_id = /],
    ['status', { status: 'reserved' }, /vehicles_by_status: .*status = /],
    ['make', { make: 'TOYOTA' }, /vehicles_by_make: .*make_key = /],
    ['make and model', { make: 'toyota', model: 'corolla' }, /vehicles_by_make: .*make_key = .*model_key = /],
    ['model', { model: 'Focus' }, /vehicles_by_model: .*model_key = /],
    ['year range', { yearMin: 2010, yearMax: 2012 }, /vehicles_by_year: .*year >= .*year <= /],
    [
      'price range',
      { priceMin: 1000, priceMax: 2000 },
      /vehicles_by_price: .*price_minor >= .*price_minor <= /,
    ],
  ])('%s', async (_name, query, expected) => {
    const resolved = query.storeId === '$store' ? { ...query, storeId: tenant.storeIds[0] } : query;
    const conditions = await planOf(resolved);
    expect(conditions.some((condition) => expected.test(condition))).toBe(true);
  });

  it('q: the start of the make, the model, the VIN, and the end of the VIN, each through its index', async () => {
    const conditions = (await planOf({ q: 'zq' })).join('\n');
    expect(conditions).toMatch(/vehicles_by_make: .*make_key ~>=~/);
    expect(conditions).toMatch(/vehicles_by_model: .*model_key ~>=~/);
    expect(conditions).toMatch(/vehicles_by_vin: .*vin ~>=~/);
    expect(conditions).toMatch(/vehicles_by_vin_end: .*vin_reversed ~>=~/);
  });

  it('(the check itself catches a filter that cannot use an index: lower(column) under RLS)', async () => {
    const ability = abilityFor({
      where: 'tenant',
      platformRole: null,
      membership: { tenantId: tenant.id, role: 'dealer_admin', allStores: true, storeIds: [] },
    });
    const listing = vehicleListQuery(tenant.id, {}, 50, ability);
    const sql = listing.sql.replace('order by', `and lower(v.make) = 'make7' order by`);
    const conditions = await inTenant(runtime, { tenantId: tenant.id }, async (client) => {
      await client.query('set local enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (format json) ${sql}`,
        listing.params,
      );
      return indexConditions(rows[0]!['QUERY PLAN'][0].Plan);
    });
    expect(conditions.join('\n')).not.toMatch(/make/);
  });
});
