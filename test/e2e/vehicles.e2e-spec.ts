import { Pool } from 'pg';
import {
  createGroup,
  type Group,
  startTestApi,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * Vehicles over HTTP: VIN rules, status transitions, filters with keyset pagination, store scope,
 * and the audit events of every write.
 */

let api: TestApi;
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let group: Group;
const ADMIN = 'admin@cars.test';
const MANAGER = 'manager@cars.test';
const SALES = 'sales@cars.test';

interface Vehicle {
  id: string;
  storeId: string;
  vin: string;
  year: number;
  make: string;
  model: string;
  status: string;
  priceMinor: number;
  daysInStock: number;
  acquiredAt: string;
  soldAt: string | null;
}

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, who: string, payload?: object) {
  const response = await api.app.inject({
    method,
    url: `/v1/tenants/${group.tenantId}${url}`,
    payload,
    headers: { authorization: `Bearer ${group.tokens[who]}` },
  });
  return {
    status: response.statusCode,
    body: response.body ? response.json<Record<string, unknown>>() : {},
    requestId: String(response.headers['x-request-id']),
  };
}

function vehicle(overrides: Record<string, unknown> = {}) {
  return {
    storeId: group.storeIds.North,
    vin: '1FAHP3FN8AW139719',
    year: 2010,
    make: 'Ford',
    model: 'Focus',
    mileage: 84_000,
    priceMinor: 799_500,
    currency: 'USD',
    ...overrides,
  };
}

async function eventsOf(requestId: string) {
  const { rows } = await admin.query<{ action: string; subject_id: string; changed_fields: string[] | null }>(
    'select action, subject_id, changed_fields from audit_events where tenant_id = $1 and request_id = $2',
    [group.tenantId, requestId],
  );
  return rows;
}

beforeAll(async () => {
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  group = await createGroup(api, mail.path, {
    slug: 'cars',
    stores: ['North', 'South'],
    members: [
      { email: MANAGER, role: 'dealer_manager', stores: ['North'] },
      { email: SALES, role: 'dealer_sales', stores: ['North'] },
    ],
  });
});

afterAll(async () => {
  await admin.end();
  await api.close();
  mail.remove();
});

describe('VIN rules', () => {
  // Real VINs of several makes (from public decoder test fixtures; see libs/inventory/src/vin.spec.ts).
  it.each([
    ['1M8GDM9AXKP042788', 'Motor Coach Industries'],
    ['2C3CDYAGXDH825982', 'Dodge'],
    ['1G1YC2D47T5102754', 'Chevrolet'],
    ['3VWR17AU5KM502465', 'Volkswagen'],
    ['4JGFD6BB8TB572566', 'Mercedes-Benz'],
    ['wp0ab2y18lsa50759', 'Porsche'],
    ['JTDBBRBE6LJ007243', 'Toyota'],
    ['KM8R5DGE3PU560806', 'Hyundai'],
  ])('accepts %s (%s), stored upper-case', async (vin, make) => {
    const created = await call('POST', '/vehicles', ADMIN, vehicle({ vin, make }));
    expect(created.status).toBe(201);
    expect(created.body.vin).toBe(vin.toUpperCase());
  });

  it.each([
    ['a wrong check digit', '1FAHP3FN7AW139719', /check digit/],
    ['an I', '1FAHP3FN8AW13971I', /I, O or Q/],
    ['an O', 'WVWZZZ1JZOW000001', /I, O or Q/],
    ['a Q', 'JH4KA7561QC008269', /I, O or Q/],
    ['16 characters', '1FAHP3FN8AW13971', /17 characters/],
    ['18 characters', '1FAHP3FN8AW1397190', /17 characters/],
    ['punctuation', '1FAHP3FN8AW13971-', /letters/],
  ])('refuses %s with a 400 naming vin', async (_what, vin, reason) => {
    const refused = await call('POST', '/vehicles', ADMIN, vehicle({ vin }));
    expect(refused.status).toBe(400);
    const errors = refused.body.errors as { field: string; message: string }[];
    expect(errors.map((error) => error.field)).toEqual(['vin']);
    expect(errors[0]!.message).toMatch(reason);
  });

  it('keeps one unsold vehicle per VIN; a sold one does not block its VIN', async () => {
    const vin = '2T3B1RFV0SC582226';
    const first = await call('POST', '/vehicles', ADMIN, vehicle({ vin, make: 'Toyota', model: 'RAV4' }));
    expect(first.status).toBe(201);
    const again = await call('POST', '/vehicles', ADMIN, vehicle({ vin, storeId: group.storeIds.South }));
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/^vin: /);
    expect(
      (await call('PATCH', `/vehicles/${String(first.body.id)}`, ADMIN, { status: 'sold' })).status,
    ).toBe(200);
    expect((await call('POST', '/vehicles', ADMIN, vehicle({ vin }))).status).toBe(201);
  });

  it('refuses other bad fields by name, and a store of another group', async () => {
    const refused = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ year: 1700, currency: 'XYZ', mileage: -1 }),
    );
    expect(refused.status).toBe(400);
    expect((refused.body.errors as { field: string }[]).map((error) => error.field).sort()).toEqual([
      'currency',
      'mileage',
      'year',
    ]);
    const unknownStore = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ storeId: '0190d6e4-0000-7000-8000-000000000000' }),
    );
    expect(unknownStore.status).toBe(400);
    expect(unknownStore.body.detail).toMatch(/^storeId: /);
    const future = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ vin: '1HGCM82633A004352', acquiredAt: '2999-01-01' }),
    );
    expect(future.status).toBe(400);
    expect(future.body.detail).toMatch(/^acquiredAt: /);
  });
});

describe('status', () => {
  let id: string;
  beforeEach(async () => {
    await admin.query(
      `delete from vehicles where tenant_id = $1 and vin = '1HGCM82633A004352' and status <> 'sold'`,
      [group.tenantId],
    );
    const created = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ vin: '1HGCM82633A004352', make: 'Honda', model: 'Accord' }),
    );
    id = String(created.body.id);
  });
  const move = (status: string) => call('PATCH', `/vehicles/${id}`, ADMIN, { status });

  it('goes in_stock → reserved → in_stock → reserved → sold, dating the sale', async () => {
    for (const status of ['reserved', 'in_stock', 'reserved']) {
      const moved = await move(status);
      expect([moved.status, moved.body.status, moved.body.soldAt]).toEqual([200, status, null]);
    }
    const sold = await move('sold');
    expect([sold.status, sold.body.status, sold.body.soldAt]).toEqual([
      200,
      'sold',
      new Date().toISOString().slice(0, 10),
    ]);
  });

  it('sells straight from stock', async () => {
    expect((await move('sold')).body.status).toBe('sold');
  });

  it('refuses anything after sold, and a vehicle cannot be created sold', async () => {
    await move('sold');
    for (const status of ['in_stock', 'reserved']) {
      const refused = await move(status);
      expect(refused.status).toBe(409);
    }
    expect((await call('PATCH', `/vehicles/${id}`, ADMIN, { priceMinor: 1 })).status).toBe(409);
    expect((await call('DELETE', `/vehicles/${id}`, ADMIN)).status).toBe(409);
    const createdSold = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ vin: '5UXXW5C54F0791433', status: 'sold' }),
    );
    expect(createdSold.status).toBe(400);
  });

  it('refuses an unknown status by name', async () => {
    const refused = await move('stolen');
    expect(refused.status).toBe(400);
    expect((refused.body.errors as { field: string }[])[0]!.field).toBe('status');
  });
});

describe('reads, filters and pagination', () => {
  const stock = [
    {
      vin: '1FAHP3FN8AW139719',
      make: 'Ford',
      model: 'Focus',
      year: 2010,
      priceMinor: 500_000,
      store: 'North',
    },
    {
      vin: '2HNYD18975H033218',
      make: 'Acura',
      model: 'MDX',
      year: 2005,
      priceMinor: 650_000,
      store: 'North',
    },
    {
      vin: '2LMHJ5AT9CB565906',
      make: 'Lincoln',
      model: 'MKT',
      year: 2012,
      priceMinor: 1_100_000,
      store: 'South',
    },
    { vin: '3C3CFFCR9FT528063', make: 'Fiat', model: '500', year: 2015, priceMinor: 900_000, store: 'South' },
    {
      vin: '4S4GUHU63S3737318',
      make: 'Subaru',
      model: 'Crosstrek',
      year: 2025,
      priceMinor: 2_900_000,
      store: 'North',
    },
    {
      vin: '5N1AT2MVXLC807279',
      make: 'Nissan',
      model: 'Rogue',
      year: 2020,
      priceMinor: 2_100_000,
      store: 'South',
    },
    { vin: 'WBAVL1C5XFVY41004', make: 'BMW', model: 'X1', year: 2015, priceMinor: 1_500_000, store: 'North' },
    {
      vin: 'YV1902FH5D1796335',
      make: 'Volvo',
      model: 'XC60',
      year: 2013,
      priceMinor: 1_250_000,
      store: 'South',
    },
  ];
  let ids: Record<string, string>;
  let other: Pool;

  beforeAll(async () => {
    await admin.query('delete from vehicles where tenant_id = $1', [group.tenantId]);
    ids = {};
    for (const car of stock) {
      const created = await call(
        'POST',
        '/vehicles',
        ADMIN,
        vehicle({ ...car, store: undefined, storeId: group.storeIds[car.store], acquiredAt: '2026-01-10' }),
      );
      expect(created.status).toBe(201);
      ids[car.vin] = String(created.body.id);
    }
    other = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  });
  afterAll(() => other.end());

  const vins = async (query: string, who = ADMIN) => {
    const listed = await call('GET', `/vehicles${query}`, who);
    expect(listed.status).toBe(200);
    return (listed.body.data as Vehicle[]).map((car) => car.vin).sort();
  };
  const where = (test: (car: (typeof stock)[number]) => boolean) =>
    stock
      .filter(test)
      .map((car) => car.vin)
      .sort();

  it.each([
    ['?storeId=south', (car: (typeof stock)[number]) => car.store === 'South'],
    ['?make=bmw', (car: (typeof stock)[number]) => car.make === 'BMW'],
    ['?make=ford&model=FOCUS', (car: (typeof stock)[number]) => car.model === 'Focus'],
    ['?model=xc60', (car: (typeof stock)[number]) => car.model === 'XC60'],
    ['?yearMin=2013&yearMax=2020', (car: (typeof stock)[number]) => car.year >= 2013 && car.year <= 2020],
    [
      '?priceMin=900000&priceMax=1500000',
      (car: (typeof stock)[number]) => car.priceMinor >= 900_000 && car.priceMinor <= 1_500_000,
    ],
    ['?q=cross', (car: (typeof stock)[number]) => car.model === 'Crosstrek'],
    ['?q=5n1at', (car: (typeof stock)[number]) => car.make === 'Nissan'],
    ['?q=o', () => false], // in many names, at the start of none
    ['?q=VOL', (car: (typeof stock)[number]) => car.make === 'Volvo'],
    ['?q=x', (car: (typeof stock)[number]) => car.model.startsWith('X')],
    ['?q=807279', (car: (typeof stock)[number]) => car.vin.endsWith('807279')],
    ['?q=wbavl', (car: (typeof stock)[number]) => car.vin.startsWith('WBAVL')],
    ['?q=%25', () => false],
    ['?q=_', () => false],
    [
      '?storeId=north&yearMin=2011',
      (car: (typeof stock)[number]) => car.store === 'North' && car.year >= 2011,
    ],
  ])('filters %s', async (query, test) => {
    const resolved = query.replace('south', group.storeIds.South!).replace('north', group.storeIds.North!);
    expect(await vins(resolved)).toEqual(where(test));
  });

  it('filters by status', async () => {
    await call('PATCH', `/vehicles/${ids['WBAVL1C5XFVY41004']}`, ADMIN, { status: 'reserved' });
    expect(await vins('?status=reserved')).toEqual(['WBAVL1C5XFVY41004']);
    await call('PATCH', `/vehicles/${ids['WBAVL1C5XFVY41004']}`, ADMIN, { status: 'in_stock' });
  });

  it('pages through everything once, in a stable order, whatever the page size', async () => {
    for (const limit of [1, 3, 8, 50]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: Record<string, unknown> } = await call(
          'GET',
          `/vehicles?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
          ADMIN,
        );
        seen.push(...(page.body.data as Vehicle[]).map((car) => car.id));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      expect(seen).toEqual(Object.values(ids).sort());
    }
  });

  it('refuses a malformed filter or cursor by name', async () => {
    for (const [query, field] of [
      ['?yearMin=old', 'yearMin'],
      ['?status=gone', 'status'],
      ['?storeId=x', 'storeId'],
      ['?limit=0', 'limit'],
      ['?colour=red', 'colour'],
    ]) {
      const refused = await call('GET', `/vehicles${query}`, ADMIN);
      expect([query, refused.status]).toEqual([query, 400]);
      expect((refused.body.errors as { field: string }[]).map((error) => error.field)).toContain(field);
    }
    expect((await call('GET', '/vehicles?cursor=bm90LWEtY3Vyc29y', ADMIN)).status).toBe(400);
  });

  it('reads one vehicle with its days in stock', async () => {
    const read = await call('GET', `/vehicles/${ids['2HNYD18975H033218']}`, ADMIN);
    expect(read.status).toBe(200);
    const expectedDays = Math.round(
      (Date.parse(new Date().toISOString().slice(0, 10)) - Date.parse('2026-01-10')) / 86_400_000,
    );
    expect(read.body).toMatchObject({
      vin: '2HNYD18975H033218',
      acquiredAt: '2026-01-10',
      daysInStock: expectedDays,
      media: [],
    });
  });

  it('keeps a store-scoped member to its stores: lists, reads, writes', async () => {
    expect(await vins('', MANAGER)).toEqual(where((car) => car.store === 'North'));
    expect(await vins('', SALES)).toEqual(where((car) => car.store === 'North'));
    const south = ids['2LMHJ5AT9CB565906']!;
    expect((await call('GET', `/vehicles/${south}`, MANAGER)).status).toBe(404);
    expect((await call('PATCH', `/vehicles/${south}`, MANAGER, { mileage: 1 })).status).toBe(404);
    expect((await call('DELETE', `/vehicles/${south}`, MANAGER)).status).toBe(404);
    expect((await call('GET', `/vehicles?storeId=${group.storeIds.South}`, MANAGER)).status).toBe(404);
    // moving a vehicle of its own store into a store outside its scope is refused too
    const north = ids['1FAHP3FN8AW139719']!;
    expect(
      (await call('PATCH', `/vehicles/${north}`, MANAGER, { storeId: group.storeIds.South })).status,
    ).toBe(404);
    expect((await call('PATCH', `/vehicles/${north}`, MANAGER, { mileage: 90_000 })).status).toBe(200);
    // sales reads in scope but changes nothing
    expect((await call('GET', `/vehicles/${north}`, SALES)).status).toBe(200);
    expect((await call('PATCH', `/vehicles/${north}`, SALES, { mileage: 1 })).status).toBe(403);
    expect((await call('POST', '/vehicles', SALES, vehicle({ vin: '1C4PJMMBXPD109289' }))).status).toBe(403);
  });

  it('has an index leading with tenant_id for every filter', async () => {
    const { rows } = await other.query<{ definition: string }>(
      `select pg_get_indexdef(i.indexrelid) as definition from pg_index i where i.indrelid = 'vehicles'::regclass`,
    );
    const leading = rows.map((row) => row.definition.replace(/^.* USING \w+ /, ''));
    for (const columns of [
      '(tenant_id, store_id, id)',
      '(tenant_id, status, id)',
      '(tenant_id, make_key text_pattern_ops, model_key text_pattern_ops, id)',
      '(tenant_id, model_key text_pattern_ops, id)',
      '(tenant_id, year, id)',
      '(tenant_id, price_minor, id)',
      '(tenant_id, vin text_pattern_ops)',
      '(tenant_id, vin_reversed text_pattern_ops)',
    ]) {
      expect(leading).toContain(columns);
    }
  });
});

describe('audit', () => {
  it('records create, update (with the changed fields) and delete, each under its request id', async () => {
    const created = await call(
      'POST',
      '/vehicles',
      ADMIN,
      vehicle({ vin: 'KNDJT2A54D7883468', make: 'Kia', model: 'Soul' }),
    );
    const id = String(created.body.id);
    expect(await eventsOf(created.requestId)).toEqual([
      { action: 'vehicle.create', subject_id: id, changed_fields: null },
    ]);
    const updated = await call('PATCH', `/vehicles/${id}`, ADMIN, {
      mileage: 12,
      priceMinor: 999,
      make: 'Kia',
    });
    expect(await eventsOf(updated.requestId)).toEqual([
      { action: 'vehicle.update', subject_id: id, changed_fields: ['mileage', 'priceMinor'] },
    ]);
    const deleted = await call('DELETE', `/vehicles/${id}`, ADMIN);
    expect(deleted.status).toBe(204);
    expect(await eventsOf(deleted.requestId)).toEqual([
      { action: 'vehicle.delete', subject_id: id, changed_fields: null },
    ]);
    expect((await call('GET', `/vehicles/${id}`, ADMIN)).status).toBe(404);
  });
});

describe('deletion', () => {
  // Found by the reliability suite (test/reliability): the deal's foreign key made this a 500.
  it('refuses to delete a vehicle a deal holds with 409, keeping the vehicle and the deal', async () => {
    const created = await call('POST', '/vehicles', ADMIN, vehicle({ vin: 'WVWZZZ1KZ8W000001' }));
    const vehicleId = String(created.body.id);
    const customer = await call('POST', '/customers', ADMIN, {
      storeId: group.storeIds.North,
      name: 'Dana Deal',
    });
    const deal = await call('POST', '/deals', ADMIN, {
      storeId: group.storeIds.North,
      customerId: customer.body.id,
      vehicleId,
      priceMinor: 700_000,
      currency: 'USD',
    });
    expect(deal.status).toBe(201);
    const refused = await call('DELETE', `/vehicles/${vehicleId}`, ADMIN);
    expect([refused.status, refused.body.type]).toEqual([409, '/problems/inventory-vehicle-on-deal']);
    expect(await eventsOf(refused.requestId)).toEqual([]);
    expect((await call('GET', `/vehicles/${vehicleId}`, ADMIN)).status).toBe(200);
    expect((await call('GET', `/deals/${String(deal.body.id)}`, ADMIN)).status).toBe(200);
  });
});
