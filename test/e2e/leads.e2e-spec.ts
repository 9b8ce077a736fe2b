import { Pool } from 'pg';
import {
  createGroup,
  type Group,
  memberCaller,
  startTestApi,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * Leads over HTTP: sales reach only the leads assigned to them, managers their stores, marketing
 * everything in scope but the customer's contact details; assignment only to members who work
 * the store; the status pipeline; audited reads.
 */

let api: TestApi;
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;
const ADMIN = 'admin@floor.test';
const MANAGER = 'manager@floor.test';
const SALES = 'sales@floor.test';
const OTHER_SALES = 'sales2@floor.test';
const SOUTH_SALES = 'south@floor.test';
const MARKETING = 'marketing@floor.test';
let customerId: string;

const call = memberCaller(
  () => api,
  () => g,
);

async function newLead(who: string, fields: Record<string, unknown> = {}): Promise<string> {
  const created = await call(who, 'POST', '/leads', {
    storeId: g.storeIds.North,
    customerId,
    source: 'website',
    ...fields,
  });
  expect(created.status).toBe(201);
  return String(created.body.id);
}

const ids = (body: Record<string, unknown>) => (body.data as { id: string }[]).map((row) => row.id);

beforeAll(async () => {
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  g = await createGroup(api, mail.path, {
    slug: 'floor',
    stores: ['North', 'South'],
    members: [
      { email: MANAGER, role: 'dealer_manager', stores: ['North'] },
      { email: SALES, role: 'dealer_sales', stores: ['North'] },
      { email: OTHER_SALES, role: 'dealer_sales', stores: ['North'] },
      { email: SOUTH_SALES, role: 'dealer_sales', stores: ['South'] },
      { email: MARKETING, role: 'dealer_marketing', stores: ['North'] },
    ],
  });
  const customer = await call(ADMIN, 'POST', '/customers', {
    storeId: g.storeIds.North,
    name: 'Lena Lead',
    email: 'lena@example.test',
    phone: '+14155550123',
  });
  customerId = String(customer.body.id);
});

afterAll(async () => {
  await admin.end();
  await api.close();
  mail.remove();
});

describe('who reaches a lead', () => {
  let mine: string;
  let theirs: string;

  beforeAll(async () => {
    mine = await newLead(SALES);
    theirs = await newLead(OTHER_SALES);
  });

  it('a salesperson’s new lead is assigned to them; handing it to someone else is assigning, which sales may not', async () => {
    expect((await call(SALES, 'GET', `/leads/${mine}`)).body.assignedUserId).toBe(g.userIds[SALES]);
    const handed = await call(SALES, 'POST', '/leads', {
      storeId: g.storeIds.North,
      customerId,
      source: 'phone',
      assignedUserId: g.userIds[OTHER_SALES],
    });
    expect(handed.status).toBe(403);
    expect(
      (await call(SALES, 'POST', `/leads/${mine}/assign`, { userId: g.userIds[OTHER_SALES] })).status,
    ).toBe(403);
  });

  it('sales see and change only the leads assigned to them', async () => {
    expect(ids((await call(SALES, 'GET', '/leads')).body)).toEqual([mine]);
    expect((await call(SALES, 'GET', `/leads/${theirs}`)).status).toBe(404);
    expect((await call(SALES, 'PATCH', `/leads/${theirs}`, { status: 'contacted' })).status).toBe(404);
    expect((await call(SALES, 'PATCH', `/leads/${mine}`, { status: 'contacted' })).status).toBe(200);
    // with the customer's details, through the lead
    expect((await call(SALES, 'GET', `/leads/${mine}`)).body).toMatchObject({
      customerName: 'Lena Lead',
      customerEmail: 'lena@example.test',
      customerPhone: '+14155550123',
    });
  });

  it('managers see every lead of their stores; marketing too, without the customer’s contact details', async () => {
    expect(ids((await call(MANAGER, 'GET', '/leads')).body)).toEqual(expect.arrayContaining([mine, theirs]));
    const seen = await call(MARKETING, 'GET', `/leads/${mine}`);
    expect(seen.status).toBe(200);
    expect(seen.body).not.toHaveProperty('customerName');
    expect(seen.body).not.toHaveProperty('customerEmail');
    expect(seen.body).not.toHaveProperty('customerPhone');
    const listed = await call(MARKETING, 'GET', '/leads');
    expect(listed.text).not.toContain('Lena');
    expect(listed.text).not.toContain('lena@');
    expect((await call(MARKETING, 'PATCH', `/leads/${mine}`, { status: 'won' })).status).toBe(403);
    expect((await call(SOUTH_SALES, 'GET', `/leads/${mine}`)).status).toBe(404);
  });

  it('is assigned by a manager only to a member who works leads in its store', async () => {
    const lead = await newLead(MANAGER);
    const assigned = await call(MANAGER, 'POST', `/leads/${lead}/assign`, { userId: g.userIds[OTHER_SALES] });
    expect([assigned.status, assigned.body.assignedUserId]).toEqual([200, g.userIds[OTHER_SALES]]);
    const [event] = (
      await admin.query<{ action: string; subject_ids: string[] }>(
        'select action, subject_ids from audit_events where request_id = $1',
        [assigned.requestId],
      )
    ).rows;
    expect(event).toEqual({ action: 'lead.assign', subject_ids: [g.userIds[OTHER_SALES]] });
    for (const who of [SOUTH_SALES, MARKETING]) {
      const refused = await call(MANAGER, 'POST', `/leads/${lead}/assign`, { userId: g.userIds[who] });
      expect([refused.status, refused.body.detail]).toEqual([400, expect.stringMatching(/^userId: /)]);
    }
  });
});

describe('the pipeline', () => {
  it('moves forward, ends in won or lost (with a reason), never back', async () => {
    const lead = await newLead(SALES);
    const move = (fields: object) => call(SALES, 'PATCH', `/leads/${lead}`, fields);
    expect((await move({ status: 'contacted' })).status).toBe(200);
    expect((await move({ status: 'negotiating' })).status).toBe(200);
    expect((await move({ status: 'new' })).status).toBe(409);
    const noReason = await move({ status: 'lost' });
    expect([noReason.status, noReason.body.detail]).toEqual([400, expect.stringMatching(/^lostReason: /)]);
    const lost = await move({ status: 'lost', lostReason: 'bought elsewhere' });
    expect(lost.body).toMatchObject({ status: 'lost', lostReason: 'bought elsewhere' });
    expect((await move({ status: 'won' })).status).toBe(409);
    expect((await move({ status: 'stolen' })).status).toBe(400);
  });

  it('refuses a card number in the source, and a customer of another store', async () => {
    const card = await call(SALES, 'POST', '/leads', {
      storeId: g.storeIds.North,
      customerId,
      source: 'paid 4111 1111 1111 1111',
    });
    expect(card.status).toBe(400);
    expect(card.text).not.toContain('4111');
    const south = await call(ADMIN, 'POST', '/customers', { storeId: g.storeIds.South, name: 'Sven South' });
    const mismatch = await call(ADMIN, 'POST', '/leads', {
      storeId: g.storeIds.North,
      customerId: south.body.id,
      source: 'walk-in',
    });
    expect([mismatch.status, mismatch.body.detail]).toEqual([400, expect.stringMatching(/^customerId: /)]);
  });
});

describe('audit', () => {
  it('records a lead read with its request id (and the customer), and a list read with the ids returned', async () => {
    const lead = await newLead(SALES);
    const read = await call(SALES, 'GET', `/leads/${lead}`);
    const events = async (requestId: string) =>
      (
        await admin.query<{ action: string; subject_id: string | null; subject_ids: string[] | null }>(
          'select action, subject_id, subject_ids from audit_events where tenant_id = $1 and request_id = $2',
          [g.tenantId, requestId],
        )
      ).rows;
    expect(await events(read.requestId)).toEqual([
      { action: 'lead.read', subject_id: lead, subject_ids: [customerId] },
    ]);
    const listed = await call(SALES, 'GET', '/leads');
    expect(await events(listed.requestId)).toEqual([
      { action: 'lead.list', subject_id: null, subject_ids: ids(listed.body) },
    ]);
  });
});
