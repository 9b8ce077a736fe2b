import { Pool } from 'pg';
import {
  createGroup,
  type Group,
  memberCaller,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  textBesidesRequestId,
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
    expect(textBesidesRequestId(card)).not.toContain('4111');
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

describe('no lost update: a change names the version it was made against', () => {
  async function patch(leadId: string, body: object, ifMatch?: string) {
    const response = await api.app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${g.tenantId}/leads/${leadId}`,
      payload: body,
      headers: { authorization: `Bearer ${g.tokens[MANAGER]}`, ...(ifMatch ? { 'if-match': ifMatch } : {}) },
    });
    return {
      status: response.statusCode,
      etag: response.headers.etag,
      body: response.json<Record<string, unknown>>(),
    };
  }

  const events = async (leadId: string) =>
    (
      await admin.query<{ n: number }>(
        `select count(*)::int as n from audit_events where subject_id = $1 and action = 'lead.update'`,
        [leadId],
      )
    ).rows[0]!.n;

  it('reads carry the version as the ETag; a change against an older one is refused (412), nothing written', async () => {
    const leadId = await newLead(MANAGER);
    const read = await api.app.inject({
      method: 'GET',
      url: `/v1/tenants/${g.tenantId}/leads/${leadId}`,
      headers: { authorization: `Bearer ${g.tokens[MANAGER]}` },
    });
    expect(read.headers.etag).toBe('"1"');
    expect(read.json<{ version: number }>().version).toBe(1);

    const first = await patch(leadId, { status: 'contacted' }, '"1"');
    expect(first).toMatchObject({ status: 200, etag: '"2"', body: { status: 'contacted', version: 2 } });
    // A second client still holding version 1 would undo the first's change without seeing it.
    const stale = await patch(leadId, { status: 'lost', lostReason: 'no answer' }, '"1"');
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ type: '/problems/leads-version-mismatch' });
    expect(String(stale.body.detail)).toContain('version 2');
    expect(await events(leadId)).toBe(1);
    const after = await call(MANAGER, 'GET', `/leads/${leadId}`);
    expect(after.body).toMatchObject({ status: 'contacted', version: 2 });

    // `*` and no If-Match at all: the change applies to whatever version is there.
    expect((await patch(leadId, { status: 'appointment' }, '*')).body).toMatchObject({ version: 3 });
    expect((await patch(leadId, { status: 'negotiating' })).body).toMatchObject({ version: 4 });
    // An If-Match we cannot read is refused, not ignored.
    expect((await patch(leadId, { status: 'won' }, 'version-4')).status).toBe(400);
  });

  it('two changes against the same version at once: exactly one lands', async () => {
    const leadId = await newLead(MANAGER);
    const answers = await Promise.all([
      patch(leadId, { status: 'contacted' }, '"1"'),
      patch(leadId, { status: 'lost', lostReason: 'duplicate' }, '"1"'),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
    expect(await events(leadId)).toBe(1);
  });

  it('assigning moves the version too and takes If-Match', async () => {
    const leadId = await newLead(MANAGER);
    const assign = (userId: string, ifMatch: string) =>
      api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${g.tenantId}/leads/${leadId}/assign`,
        payload: { userId },
        headers: { authorization: `Bearer ${g.tokens[MANAGER]}`, 'if-match': ifMatch },
      });
    const assigned = await assign(g.userIds[SALES]!, '"1"');
    expect(assigned.statusCode).toBe(200);
    expect(assigned.headers.etag).toBe('"2"');
    expect((await assign(g.userIds[OTHER_SALES]!, '"1"')).statusCode).toBe(412);
  });
});
