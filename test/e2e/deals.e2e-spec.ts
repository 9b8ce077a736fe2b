import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import {
  createGroup,
  type Group,
  memberCaller,
  multipartFile,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';

/**
 * Deals over HTTP: signing reserves the vehicle and delivery sells it in the same transaction;
 * two signings on one vehicle at once — exactly one wins; the status rules; who sees what.
 */

let api: TestApi;
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;
const ADMIN = 'admin@deals.test';
const SALES = 'sales@deals.test';
const OTHER_SALES = 'sales2@deals.test';
const MARKETING = 'marketing@deals.test';
let customerId: string;
let vinCounter = 0;

const call = memberCaller(
  () => api,
  () => g,
);

async function newVehicle(): Promise<string> {
  const vin = `WVWZZZ1JZ${String(++vinCounter).padStart(8, '0')}`;
  const created = await call(ADMIN, 'POST', '/vehicles', {
    storeId: g.storeIds.Main,
    vin,
    year: 2022,
    make: 'Volkswagen',
    model: 'Golf',
    mileage: 10,
    priceMinor: 2_500_000,
    currency: 'EUR',
  });
  expect(created.status).toBe(201);
  return String(created.body.id);
}

async function newDeal(vehicleId: string, who = SALES): Promise<string> {
  const created = await call(who, 'POST', '/deals', {
    storeId: g.storeIds.Main,
    customerId,
    vehicleId,
    priceMinor: 2_400_000,
    currency: 'EUR',
  });
  expect(created.status).toBe(201);
  return String(created.body.id);
}

const vehicleStatus = async (vehicleId: string) =>
  (await call(ADMIN, 'GET', `/vehicles/${vehicleId}`)).body.status as string;

beforeAll(async () => {
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  g = await createGroup(api, mail.path, {
    slug: 'deals',
    stores: ['Main'],
    members: [
      { email: SALES, role: 'dealer_sales' },
      { email: OTHER_SALES, role: 'dealer_sales' },
      { email: MARKETING, role: 'dealer_marketing' },
    ],
  });
  customerId = String(
    (await call(ADMIN, 'POST', '/customers', { storeId: g.storeIds.Main, name: 'Dana Deal' })).body.id,
  );
});

afterAll(async () => {
  await admin.end();
  await api.close();
  mail.remove();
});

describe('signing', () => {
  it('two deals signed on one vehicle at the same moment: exactly one succeeds (five times over)', async () => {
    for (let round = 0; round < 5; round++) {
      const vehicleId = await newVehicle();
      const first = await newDeal(vehicleId, SALES);
      const second = await newDeal(vehicleId, OTHER_SALES);
      const results = await Promise.all([
        call(SALES, 'PATCH', `/deals/${first}`, { status: 'signed' }),
        call(OTHER_SALES, 'PATCH', `/deals/${second}`, { status: 'signed' }),
      ]);
      expect(results.map((result) => result.status).sort()).toEqual([200, 409]);
      const loser = results.find((result) => result.status === 409)!;
      expect(loser.body.detail).toMatch(/^vehicleId: /);
      const { rows } = await admin.query<{ signed: number }>(
        `select count(*)::int as signed from deals where vehicle_id = $1 and status = 'signed'`,
        [vehicleId],
      );
      expect(rows[0]!.signed).toBe(1);
      expect(await vehicleStatus(vehicleId)).toBe('reserved');
    }
  });

  it('reserves the vehicle, records both moves in the one request, and delivery sells it', async () => {
    const vehicleId = await newVehicle();
    const dealId = await newDeal(vehicleId);
    const signed = await call(SALES, 'PATCH', `/deals/${dealId}`, { status: 'signed' });
    expect(signed.body.status).toBe('signed');
    expect(typeof signed.body.signedAt).toBe('string');
    expect(await vehicleStatus(vehicleId)).toBe('reserved');
    const { rows } = await admin.query<{ action: string; subject_id: string }>(
      'select action, subject_id from audit_events where request_id = $1 order by action',
      [signed.requestId],
    );
    expect(rows).toEqual([
      { action: 'deal.signed', subject_id: dealId },
      { action: 'vehicle.update', subject_id: vehicleId },
    ]);
    expect((await call(SALES, 'PATCH', `/deals/${dealId}`, { priceMinor: 1 })).status).toBe(409);
    const delivered = await call(SALES, 'PATCH', `/deals/${dealId}`, { status: 'delivered' });
    expect(delivered.body.status).toBe('delivered');
    expect(typeof delivered.body.deliveredAt).toBe('string');
    const vehicle = (await call(ADMIN, 'GET', `/vehicles/${vehicleId}`)).body;
    expect(vehicle).toMatchObject({ status: 'sold', soldAt: new Date().toISOString().slice(0, 10) });
    expect((await call(SALES, 'PATCH', `/deals/${dealId}`, { status: 'cancelled' })).status).toBe(409);
    // a sold vehicle takes no new deal
    const late = await call(SALES, 'POST', '/deals', {
      storeId: g.storeIds.Main,
      customerId,
      vehicleId,
      priceMinor: 1,
      currency: 'EUR',
    });
    expect(late.status).toBe(409);
  });

  it('cancelling a signed deal puts the vehicle back in stock; a dropped draft never touched it', async () => {
    const vehicleId = await newVehicle();
    const draft = await newDeal(vehicleId);
    expect((await call(SALES, 'PATCH', `/deals/${draft}`, { priceMinor: 2_300_000 })).body.priceMinor).toBe(
      2_300_000,
    );
    expect((await call(SALES, 'PATCH', `/deals/${draft}`, { status: 'delivered' })).status).toBe(409);
    expect((await call(SALES, 'PATCH', `/deals/${draft}`, { status: 'cancelled' })).status).toBe(200);
    expect(await vehicleStatus(vehicleId)).toBe('in_stock');
    const signedThenCancelled = await newDeal(vehicleId);
    await call(SALES, 'PATCH', `/deals/${signedThenCancelled}`, { status: 'signed' });
    expect(await vehicleStatus(vehicleId)).toBe('reserved');
    await call(SALES, 'PATCH', `/deals/${signedThenCancelled}`, { status: 'cancelled' });
    expect(await vehicleStatus(vehicleId)).toBe('in_stock');
  });
});

describe('who sees a deal', () => {
  it('sales reach their own deals only; marketing sees deals without the customer; reads are recorded', async () => {
    const mine = await newDeal(await newVehicle(), SALES);
    const theirs = await newDeal(await newVehicle(), OTHER_SALES);
    expect((await call(SALES, 'GET', `/deals/${theirs}`)).status).toBe(404);
    const listed = (await call(SALES, 'GET', '/deals')).body.data as { id: string }[];
    expect(listed.map((deal) => deal.id)).toContain(mine);
    expect(listed.map((deal) => deal.id)).not.toContain(theirs);
    const seen = await call(MARKETING, 'GET', `/deals/${mine}`);
    expect(seen.status).toBe(200);
    expect(seen.body).not.toHaveProperty('customerName');
    expect(seen.body).not.toHaveProperty('customerId');
    expect((await call(MARKETING, 'PATCH', `/deals/${mine}`, { status: 'signed' })).status).toBe(403);
    const read = await call(SALES, 'GET', `/deals/${mine}`);
    const { rows } = await admin.query<{ action: string; subject_ids: string[] }>(
      'select action, subject_ids from audit_events where request_id = $1',
      [read.requestId],
    );
    expect(rows).toEqual([{ action: 'deal.read', subject_ids: [customerId] }]);
  });
});

describe('the bill of sale', () => {
  const pdf = Buffer.from('%PDF-1.7\n% signed bill of sale, Dana Deal\n%%EOF\n');
  const upload = async (who: string, dealId: string, bytes: Buffer, contentType = 'application/pdf') => {
    const form = multipartFile(bytes, { contentType, fileName: 'bill.pdf' });
    const response = await api.app.inject({
      method: 'PUT',
      url: `/v1/tenants/${g.tenantId}/deals/${dealId}/bill-of-sale`,
      payload: form.payload,
      headers: { ...form.headers, authorization: `Bearer ${g.tokens[who]}` },
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  const objectsOf = (dealId: string) => {
    try {
      return readdirSync(
        join(api.dataDir, 'objects', 'tenants', g.tenantId, 'deals', dealId, 'bill-of-sale'),
      );
    } catch {
      return [];
    }
  };

  it('is a PDF of a signed deal, stored encrypted, downloaded by those who may see the customer', async () => {
    const dealId = await newDeal(await newVehicle());
    expect((await upload(SALES, dealId, pdf)).status).toBe(409); // a draft has none yet
    await call(SALES, 'PATCH', `/deals/${dealId}`, { status: 'signed' });
    expect((await upload(SALES, dealId, TINY_PNG, 'application/pdf')).status).toBe(415);
    expect(objectsOf(dealId)).toEqual([]);
    const stored = await upload(SALES, dealId, pdf);
    expect(stored.status).toBe(200);
    expect(stored.body.billOfSale).toMatchObject({
      size: pdf.length,
      sha256: createHash('sha256').update(pdf).digest('hex'),
    });
    const download = await api.app.inject({
      method: 'GET',
      url: `/v1/tenants/${g.tenantId}/deals/${dealId}/bill-of-sale`,
      headers: { authorization: `Bearer ${g.tokens[SALES]}` },
    });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(pdf)).toBe(true);
    const { rows } = await admin.query<{ action: string }>(
      'select action from audit_events where request_id = $1',
      [String(download.headers['x-request-id'])],
    );
    expect(rows).toEqual([{ action: 'bill_of_sale.download' }]);
    const marketing = await call(MARKETING, 'GET', `/deals/${dealId}/bill-of-sale`);
    expect(marketing.status).toBe(403);
    // a new upload replaces the old one, whose object goes
    const [first] = objectsOf(dealId);
    expect((await upload(SALES, dealId, Buffer.concat([pdf, Buffer.from('% v2\n')]))).status).toBe(200);
    expect(objectsOf(dealId)).toHaveLength(1);
    expect(objectsOf(dealId)).not.toContain(first);
  });
});
