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
 * A lead's messages and bookings over HTTP: messages only on one's own leads and never for
 * marketing, card numbers refused; no vehicle booked twice for overlapping times, even at once.
 */

let api: TestApi;
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;
const ADMIN = 'admin@talk.test';
const MANAGER = 'manager@talk.test';
const SALES = 'sales@talk.test';
const OTHER_SALES = 'sales2@talk.test';
const MARKETING = 'marketing@talk.test';
let mine: string;
let theirs: string;
let vehicleId: string;

const call = memberCaller(
  () => api,
  () => g,
);

const eventsOf = async (requestId: string) =>
  (
    await admin.query<{ action: string; subject_id: string | null; subject_ids: string[] | null }>(
      'select action, subject_id, subject_ids from audit_events where request_id = $1',
      [requestId],
    )
  ).rows;

beforeAll(async () => {
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  g = await createGroup(api, mail.path, {
    slug: 'talk',
    stores: ['Main'],
    members: [
      { email: MANAGER, role: 'dealer_manager' },
      { email: SALES, role: 'dealer_sales' },
      { email: OTHER_SALES, role: 'dealer_sales' },
      { email: MARKETING, role: 'dealer_marketing' },
    ],
  });
  const customerId = String(
    (await call(ADMIN, 'POST', '/customers', { storeId: g.storeIds.Main, name: 'Tara Talk' })).body.id,
  );
  const lead = async (who: string) =>
    String(
      (await call(who, 'POST', '/leads', { storeId: g.storeIds.Main, customerId, source: 'chat' })).body.id,
    );
  mine = await lead(SALES);
  theirs = await lead(OTHER_SALES);
  vehicleId = String(
    (
      await call(ADMIN, 'POST', '/vehicles', {
        storeId: g.storeIds.Main,
        vin: 'WVWZZZ1JZXW000123',
        year: 2020,
        make: 'Volkswagen',
        model: 'Polo',
        mileage: 1,
        priceMinor: 1,
        currency: 'EUR',
      })
    ).body.id,
  );
});

afterAll(async () => {
  await admin.end();
  await api.close();
  mail.remove();
});

describe('messages', () => {
  it('are written and read on one’s own leads only, and each read is recorded with the ids', async () => {
    const posted = await call(SALES, 'POST', `/leads/${mine}/messages`, { body: 'Can we meet Friday?' });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({
      leadId: mine,
      direction: 'outbound',
      channel: 'email',
      authorId: g.userIds[SALES],
    });
    expect(await eventsOf(posted.requestId)).toEqual([
      { action: 'message.create', subject_id: posted.body.id, subject_ids: [mine] },
    ]);
    await call(SALES, 'POST', `/leads/${mine}/messages`, {
      body: 'Friday works',
      direction: 'inbound',
      channel: 'sms',
    });
    const listed = await call(SALES, 'GET', `/leads/${mine}/messages`);
    const bodies = (listed.body.data as { id: string; body: string }[]).map((message) => message.body);
    expect(bodies).toEqual(['Can we meet Friday?', 'Friday works']);
    expect(await eventsOf(listed.requestId)).toEqual([
      {
        action: 'message.list',
        subject_id: null,
        subject_ids: [mine, ...(listed.body.data as { id: string }[]).map((message) => message.id)],
      },
    ]);
    expect((await call(SALES, 'GET', `/leads/${theirs}/messages`)).status).toBe(404);
    expect((await call(SALES, 'POST', `/leads/${theirs}/messages`, { body: 'hi' })).status).toBe(404);
    expect((await call(MANAGER, 'GET', `/leads/${mine}/messages`)).status).toBe(200);
  });

  it('are never shown to marketing', async () => {
    const refused = await call(MARKETING, 'GET', `/leads/${mine}/messages`);
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('Friday');
  });

  it('refuse a card number in the body, and say why', async () => {
    const refused = await call(SALES, 'POST', `/leads/${mine}/messages`, {
      body: 'my card is 5555-5555-5555-4444, charge the deposit',
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/payment card number/);
    expect(textBesidesRequestId(refused)).not.toContain('5555');
    const { rows } = await admin.query('select 1 from messages where body like $1', ['%5555%']);
    expect(rows).toEqual([]);
  });
});

describe('bookings', () => {
  const book = (who: string, startsAt: string, endsAt: string, extra: object = {}) =>
    call(who, 'POST', '/bookings', {
      leadId: mine,
      kind: 'test_drive',
      vehicleId,
      startsAt,
      endsAt,
      ...extra,
    });

  it('never books one vehicle twice for overlapping times; adjacent slots and cancelled ones are free', async () => {
    const first = await book(SALES, '2027-01-05T10:00:00Z', '2027-01-05T10:45:00Z');
    expect(first.status).toBe(201);
    const overlap = await book(SALES, '2027-01-05T10:30:00Z', '2027-01-05T11:00:00Z');
    expect([overlap.status, overlap.body.detail]).toEqual([409, expect.stringMatching(/^startsAt: /)]);
    expect((await book(SALES, '2027-01-05T10:45:00Z', '2027-01-05T11:30:00Z')).status).toBe(201);
    const cancelled = await call(SALES, 'PATCH', `/bookings/${String(first.body.id)}`, {
      status: 'cancelled',
    });
    expect(cancelled.body.status).toBe('cancelled');
    expect((await book(SALES, '2027-01-05T10:00:00Z', '2027-01-05T10:40:00Z')).status).toBe(201);
    // moving a booking onto a taken slot is refused the same way
    const later = await book(SALES, '2027-01-05T15:00:00Z', '2027-01-05T15:30:00Z');
    const moved = await call(SALES, 'PATCH', `/bookings/${String(later.body.id)}`, {
      startsAt: '2027-01-05T10:15:00Z',
      endsAt: '2027-01-05T10:35:00Z',
    });
    expect(moved.status).toBe(409);
  });

  it('two overlapping bookings made at the same moment: exactly one succeeds', async () => {
    for (let hour = 10; hour < 15; hour++) {
      const at = (minute: number) =>
        `2027-02-0${1 + (hour % 5)}T${hour}:${String(minute).padStart(2, '0')}:00Z`;
      const results = await Promise.all([book(SALES, at(0), at(30)), book(MANAGER, at(15), at(45))]);
      expect(results.map((result) => result.status).sort()).toEqual([201, 409]);
    }
  });

  it('refuse a test drive without a vehicle and times that end before they start', async () => {
    const noVehicle = await call(SALES, 'POST', '/bookings', {
      leadId: mine,
      kind: 'test_drive',
      startsAt: '2027-03-01T10:00:00Z',
      endsAt: '2027-03-01T10:30:00Z',
    });
    expect([noVehicle.status, noVehicle.body.detail]).toEqual([400, expect.stringMatching(/^vehicleId: /)]);
    const backwards = await book(SALES, '2027-03-01T10:00:00Z', '2027-03-01T09:00:00Z');
    expect([backwards.status, backwards.body.detail]).toEqual([400, expect.stringMatching(/^endsAt: /)]);
  });

  it('are shown to marketing without the customer, recorded when read, and held by their assignee', async () => {
    const booked = await call(SALES, 'POST', '/bookings', {
      leadId: mine,
      kind: 'appointment',
      startsAt: '2027-04-01T09:00:00Z',
      endsAt: '2027-04-01T09:30:00Z',
    });
    const id = String(booked.body.id);
    const seen = await call(MARKETING, 'GET', `/bookings/${id}`);
    expect(seen.status).toBe(200);
    expect(seen.body).not.toHaveProperty('customerName');
    const read = await call(SALES, 'GET', `/bookings/${id}`);
    expect(read.body.customerName).toBe('Tara Talk');
    expect(await eventsOf(read.requestId)).toEqual([
      { action: 'booking.read', subject_id: id, subject_ids: null },
    ]);
    expect((await call(OTHER_SALES, 'GET', `/bookings/${id}`)).status).toBe(404);
    expect((await call(OTHER_SALES, 'PATCH', `/bookings/${id}`, { status: 'cancelled' })).status).toBe(404);
  });
});
