import { Client, Pool } from 'pg';
import { DecryptionError, TenantKeys } from '@forecourt/crypto';
import { TenantTransaction, userOfUrl } from '@forecourt/database';
import {
  createGroup,
  type Group,
  inTenant,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  textBesidesRequestId,
} from '@forecourt/test-harness';

/**
 * Customers over HTTP: identifiers sealed at rest under the tenant's key, PII only for the roles
 * whose fields include it, normalised search without decryption, audited reads, the consent
 * ledger, and card numbers refused in free text.
 */

let api: TestApi;
let admin: Pool;
let runtime: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let a: Group;
let b: Group;
const ADMIN = 'admin@crm-a.test';
const MANAGER = 'manager@crm-a.test';
const SALES = 'sales@crm-a.test';
const MARKETING = 'marketing@crm-a.test';
const NATIONAL_ID = 'ABCDE1234F-NATIONAL';
const LICENCE = 'DL-0420110012345';

async function call(
  group: Group,
  who: string,
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  payload?: object,
) {
  const response = await api.app.inject({
    method,
    url: `/v1/tenants/${group.tenantId}${url}`,
    payload,
    headers: { authorization: `Bearer ${group.tokens[who]}` },
  });
  return {
    status: response.statusCode,
    body: response.json<Record<string, unknown>>(),
    text: response.body,
    requestId: String(response.headers['x-request-id']),
  };
}

async function eventsOf(tenantId: string, requestId: string) {
  const { rows } = await admin.query<{
    action: string;
    subject_id: string | null;
    subject_ids: string[] | null;
    changed_fields: string[] | null;
    reason: string | null;
  }>(
    'select action, subject_id, subject_ids, changed_fields, reason from audit_events where tenant_id = $1 and request_id = $2',
    [tenantId, requestId],
  );
  return rows;
}

const newCustomer = (overrides: Record<string, unknown> = {}) => ({
  storeId: a.storeIds.North,
  name: 'Priya Raman',
  email: '  Priya.Raman@Example.COM ',
  phone: '+1 415 555 2671',
  nationalId: NATIONAL_ID,
  driverLicense: LICENCE,
  sensitive: { pan: 'ABCDE1234F', aadhaar: '2345 6789 0123' },
  address: { line1: '1 Main Street', city: 'Springfield', country: 'US' },
  notes: 'Prefers evening calls',
  ...overrides,
});

beforeAll(async () => {
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 1 });
  a = await createGroup(api, mail.path, {
    slug: 'crm-a',
    stores: ['North', 'South'],
    members: [
      { email: MANAGER, role: 'dealer_manager', stores: ['North'] },
      { email: SALES, role: 'dealer_sales', stores: ['North'] },
      { email: MARKETING, role: 'dealer_marketing', stores: ['North'] },
    ],
  });
  b = await createGroup(api, mail.path, { slug: 'crm-b', stores: ['Main'], ownerEmail: 'owner2@crm.test' });
});

afterAll(async () => {
  await runtime.end();
  await admin.end();
  await api.close();
  mail.remove();
});

describe('a customer', () => {
  let id: string;

  beforeAll(async () => {
    const created = await call(a, SALES, 'POST', '/customers', newCustomer());
    expect(created.status).toBe(201);
    id = String(created.body.id);
  });

  it('is stored normalised, and answered whole to a role that may read its identifiers', async () => {
    const read = await call(a, SALES, 'GET', `/customers/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id,
      storeId: a.storeIds.North,
      name: 'Priya Raman',
      email: 'priya.raman@example.com',
      phone: '+14155552671',
      nationalId: NATIONAL_ID,
      driverLicense: LICENCE,
      sensitive: { pan: 'ABCDE1234F', aadhaar: '2345 6789 0123' },
      address: { line1: '1 Main Street', city: 'Springfield', country: 'US' },
      notes: 'Prefers evening calls',
      consents: [],
    });
  });

  it('keeps no plaintext identifier in its row, and another tenant’s key does not open them', async () => {
    // As the schema owner, the role that owns the table. Row-level security is forced on the owner
    // too (and has no policy for it), so the check lifts that inside a transaction it rolls back.
    const owner = new Client({ connectionString: api.db.ownerUrl });
    await owner.connect();
    let rows: { who: string; row: string; national_id: Buffer; driver_license: Buffer; sensitive: Buffer }[];
    try {
      await owner.query('begin');
      await owner.query('alter table customers no force row level security');
      ({ rows } = await owner.query(
        `select current_user as who, c::text as row, national_id, driver_license, sensitive
           from customers c where id = $1`,
        [id],
      ));
      expect(rows).toHaveLength(1);
      expect(rows[0]!.who).toBe(userOfUrl(api.db.ownerUrl));
    } finally {
      await owner.query('rollback');
      await owner.end();
    }
    const [row] = rows;
    for (const secret of [NATIONAL_ID, LICENCE, 'ABCDE1234F', '2345 6789 0123']) {
      expect(row!.row).not.toContain(secret);
      for (const sealed of [row!.national_id, row!.driver_license, row!.sensitive]) {
        expect(sealed.includes(Buffer.from(secret))).toBe(false);
      }
    }
    // B gets a data key of its own; A's sealed value does not open in B's transaction.
    expect(
      (
        await call(b, 'admin@crm-b.test', 'POST', '/customers', {
          storeId: b.storeIds.Main,
          nationalId: 'X1',
          name: 'B',
        })
      ).status,
    ).toBe(201);
    const keys = api.app.get(TenantKeys);
    const transactions = api.app.get(TenantTransaction);
    await expect(
      transactions.run({ tenantId: b.tenantId, stores: 'all' }, (tx) =>
        keys.open(tx, row!.national_id, `customer:${id}:nationalId`),
      ),
    ).rejects.toBeInstanceOf(DecryptionError);
    // while in A's, bound to this customer and field, it does
    const opened = await transactions.run({ tenantId: a.tenantId, stores: 'all' }, (tx) =>
      keys.open(tx, row!.national_id, `customer:${id}:nationalId`),
    );
    expect(opened.toString()).toBe(NATIONAL_ID);
    await expect(
      transactions.run({ tenantId: a.tenantId, stores: 'all' }, (tx) =>
        keys.open(tx, row!.national_id, `customer:${id}:driverLicense`),
      ),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it('shows marketing no personal data at all, but its consent', async () => {
    await call(a, SALES, 'POST', `/customers/${id}/consents`, {
      channel: 'email',
      purpose: 'marketing',
      status: 'granted',
      source: 'showroom form',
    });
    const read = await call(a, MARKETING, 'GET', `/customers/${id}`);
    expect(read.status).toBe(200);
    expect(Object.keys(read.body).sort()).toEqual(['consents', 'createdAt', 'id', 'storeId']);
    expect(read.body.consents).toEqual([
      expect.objectContaining({
        channel: 'email',
        purpose: 'marketing',
        status: 'granted',
        source: 'showroom form',
      }),
    ]);
    for (const pii of [
      'Priya',
      'priya',
      '4155552671',
      NATIONAL_ID,
      LICENCE,
      'ABCDE1234F',
      'Main Street',
      'evening',
    ]) {
      expect(read.text).not.toContain(pii);
    }
    const listed = await call(a, MARKETING, 'GET', '/customers');
    expect(listed.text).not.toContain('Priya');
    expect(
      (listed.body.data as Record<string, unknown>[]).every((row) => !('name' in row || 'email' in row)),
    ).toBe(true);
  });

  it('records a customer.read with the request id, and a list read with the ids it returned', async () => {
    const read = await call(a, SALES, 'GET', `/customers/${id}`);
    expect(await eventsOf(a.tenantId, read.requestId)).toEqual([
      expect.objectContaining({ action: 'customer.read', subject_id: id }),
    ]);
    const listed = await call(a, SALES, 'GET', '/customers');
    const ids = (listed.body.data as { id: string }[]).map((row) => row.id);
    expect(ids).toContain(id);
    expect(await eventsOf(a.tenantId, listed.requestId)).toEqual([
      expect.objectContaining({ action: 'customer.list', subject_ids: ids }),
    ]);
    // the list carries no identifiers, even for a role that may read them
    expect(listed.text).not.toContain(NATIONAL_ID);
  });

  it('records an update by the names of the fields that changed, never their values', async () => {
    const updated = await call(a, MANAGER, 'PATCH', `/customers/${id}`, {
      nationalId: 'NEW-ID-998877',
      email: 'PRIYA@example.com',
      name: 'Priya Raman',
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ nationalId: 'NEW-ID-998877', email: 'priya@example.com' });
    const [event] = await eventsOf(a.tenantId, updated.requestId);
    expect(event).toMatchObject({ action: 'customer.update', changed_fields: ['email', 'nationalId'] });
    const { rows } = await admin.query<{ row: string }>(
      'select a::text as row from audit_events a where request_id = $1',
      [updated.requestId],
    );
    expect(rows[0]!.row).not.toContain('NEW-ID-998877');
    expect(rows[0]!.row).not.toContain('priya@example.com');
  });

  it('is out of reach outside the caller’s stores, and in another tenant', async () => {
    const south = await call(
      a,
      ADMIN,
      'POST',
      '/customers',
      newCustomer({ storeId: a.storeIds.South, name: 'South Sam' }),
    );
    const southId = String(south.body.id);
    for (const who of [MANAGER, SALES, MARKETING]) {
      const refused = await call(a, who, 'GET', `/customers/${southId}`);
      expect(refused.status).toBe(404);
      // A problem document is no Customer row: the route's redaction leaves it whole.
      expect(Object.keys(refused.body).sort()).toEqual(['detail', 'requestId', 'status', 'title', 'type']);
      expect((await call(a, who, 'GET', '/customers')).text).not.toContain(southId);
    }
    expect((await call(a, SALES, 'PATCH', `/customers/${southId}`, { notes: 'x' })).status).toBe(404);
    expect((await call(b, 'admin@crm-b.test', 'GET', `/customers/${id}`)).status).toBe(404);
    expect(
      (await call(a, SALES, 'POST', '/customers', newCustomer({ storeId: a.storeIds.South }))).status,
    ).toBe(404);
    expect((await call(a, MARKETING, 'POST', '/customers', newCustomer())).status).toBe(403);
  });
});

describe('search', () => {
  beforeAll(async () => {
    for (const [name, email, phone] of [
      ['Zoë Alvarez', 'zoe@alvarez.test', '+44 20 7946 0958'],
      ['Zachary Ng', 'zng@example.test', '+65 6123 4567'],
      ['Arjun Mehta', 'arjun.m@zmail.test', '+91 98765 43210'],
    ]) {
      expect(
        (await call(a, ADMIN, 'POST', '/customers', { storeId: a.storeIds.North, name, email, phone }))
          .status,
      ).toBe(201);
    }
  });
  const names = async (q: string) =>
    ((await call(a, ADMIN, 'GET', `/customers?q=${encodeURIComponent(q)}`)).body.data as { name: string }[])
      .map((row) => row.name)
      .sort();

  it('finds by the start of the name or e-mail, case-insensitively, and by the phone’s last digits', async () => {
    expect(await names('za')).toEqual(['Zachary Ng']);
    expect(await names('ZOË')).toEqual(['Zoë Alvarez']);
    expect(await names('arjun.m@')).toEqual(['Arjun Mehta']);
    expect(await names('z')).toEqual(['Zachary Ng', 'Zoë Alvarez']);
    expect(await names('43210')).toEqual(['Arjun Mehta']);
    expect(await names('4567')).toEqual(['Zachary Ng']);
    expect(await names('%')).toEqual([]);
  });

  it('stores phones as E.164, national numbers with phoneCountry, and refuses others by name', async () => {
    const national = await call(a, ADMIN, 'POST', '/customers', {
      storeId: a.storeIds.North,
      name: 'Local Lata',
      phone: '098765 43211',
      phoneCountry: 'IN',
    });
    expect(national.body.phone).toBe('+919876543211');
    const refused = await call(a, ADMIN, 'POST', '/customers', {
      storeId: a.storeIds.North,
      name: 'N',
      phone: '12345',
    });
    expect([refused.status, refused.body.detail]).toEqual([400, expect.stringMatching(/^phone: /)]);
    const required = await call(a, ADMIN, 'POST', '/customers', { storeId: a.storeIds.North });
    expect((required.body.errors as { field: string }[]).map((error) => error.field)).toContain('name');
  });
});

describe('consent', () => {
  it('is derived from the ledger: a withdrawal after a grant reads withdrawn, and both stay on record', async () => {
    const created = await call(a, ADMIN, 'POST', '/customers', {
      storeId: a.storeIds.North,
      name: 'Consenting Carl',
    });
    const id = String(created.body.id);
    const grant = await call(a, SALES, 'POST', `/customers/${id}/consents`, {
      channel: 'sms',
      purpose: 'marketing',
      status: 'granted',
      source: 'web form',
    });
    expect(grant.status).toBe(201);
    const withdraw = await call(a, SALES, 'POST', `/customers/${id}/consents`, {
      channel: 'sms',
      purpose: 'marketing',
      status: 'withdrawn',
      source: 'STOP reply',
    });
    await call(a, SALES, 'POST', `/customers/${id}/consents`, {
      channel: 'email',
      purpose: 'service',
      status: 'granted',
      source: 'contract',
    });
    const ledger = await call(a, MARKETING, 'GET', `/customers/${id}/consents`);
    expect(ledger.status).toBe(200);
    expect(ledger.body.current).toEqual([
      expect.objectContaining({ channel: 'email', purpose: 'service', status: 'granted' }),
      expect.objectContaining({
        channel: 'sms',
        purpose: 'marketing',
        status: 'withdrawn',
        source: 'STOP reply',
      }),
    ]);
    expect((ledger.body.history as { status: string }[]).map((event) => event.status)).toEqual([
      'granted',
      'withdrawn',
      'granted',
    ]);
    expect(await eventsOf(a.tenantId, grant.requestId)).toEqual([
      expect.objectContaining({ action: 'consent.granted', subject_id: id, reason: 'sms marketing' }),
    ]);
    expect(await eventsOf(a.tenantId, withdraw.requestId)).toEqual([
      expect.objectContaining({ action: 'consent.withdrawn', subject_id: id }),
    ]);
    expect(
      (
        await call(a, MARKETING, 'POST', `/customers/${id}/consents`, {
          channel: 'sms',
          purpose: 'marketing',
          status: 'granted',
          source: 'x',
        })
      ).status,
    ).toBe(403);
    const bad = await call(a, SALES, 'POST', `/customers/${id}/consents`, {
      channel: 'fax',
      purpose: 'marketing',
      status: 'granted',
      source: 'x',
    });
    expect((bad.body.errors as { field: string }[])[0]!.field).toBe('channel');
  });

  it('cannot be rewritten: the runtime role can neither update nor delete the ledger', async () => {
    for (const sql of [
      `update consent_events set status = 'granted' where tenant_id = $1`,
      `delete from consent_events where tenant_id = $1`,
    ]) {
      await expect(
        inTenant(runtime, { tenantId: a.tenantId }, (client) => client.query(sql, [a.tenantId])),
      ).rejects.toThrow(/append-only|permission denied/);
    }
    // nor the schema owner (the trigger), short of disabling it
    await expect(
      admin.query(`update consent_events set source = 'forged' where tenant_id = $1`, [a.tenantId]),
    ).rejects.toThrow(/append-only/);
  });
});

describe('card numbers', () => {
  it.each([
    ['notes', { notes: 'Paid with 4111111111111111 last time' }],
    ['notes, spaced', { notes: 'card 4111 1111 1111 1111' }],
    ['notes, dashed', { notes: 'card 5555-5555-5555-4444 exp 12/29' }],
    ['the name', { name: 'Card 378282246310005' }],
    ['an address line', { address: { line1: '4012 8888 8888 1881' } }],
    ['a sensitive identifier', { sensitive: { note: '6011111111111117' } }],
  ])('refuses one in %s with a 400 that says why', async (_where, fields) => {
    const refused = await call(a, ADMIN, 'POST', '/customers', {
      storeId: a.storeIds.North,
      name: 'Card Holder',
      ...fields,
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/payment card number/);
    expect(textBesidesRequestId(refused)).not.toMatch(/4111|5555|3782|4012|6011/);
  });

  it('accepts a 16-digit number that fails the Luhn check', async () => {
    const accepted = await call(a, ADMIN, 'POST', '/customers', {
      storeId: a.storeIds.North,
      name: 'Order Olga',
      notes: 'order ref 4111111111111112',
    });
    expect(accepted.status).toBe(201);
  });
});
