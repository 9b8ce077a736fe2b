import { Pool } from 'pg';
import Stripe from 'stripe';
import { v7 as newId } from 'uuid';
import { findsCardNumber } from '@forecourt/leads';
import {
  billingTableTexts,
  type BillingFixture,
  closeBillingFixture,
  currentSubscription,
  PLATFORM_TENANT_ID,
  type SeededTenant,
  startBillingFixture,
  startTestApi,
  storedBillingEvents,
  TestApi,
} from '@forecourt/test-harness';

const SECRET = 'whsec_forecourt_test_secret';

let fixture: BillingFixture;
let api: TestApi;
let owner: Pool;
let tenant: SeededTenant;
let clock = Math.floor(Date.now() / 1000) - 3600;
let counter = 0;

beforeAll(async () => {
  fixture = await startBillingFixture({ STRIPE_WEBHOOK_SECRET: SECRET }, 'billing');
  ({ api, owner, tenant } = fixture);
});

afterAll(() => closeBillingFixture(fixture));

/** A Stripe event as Stripe sends it, `created` seconds after the previous one unless given. */
function stripeEvent(type: string, object: Record<string, unknown>, created = (clock += 10)): string {
  counter += 1;
  return JSON.stringify({
    id: `evt_${counter}_${newId().slice(-8)}`,
    object: 'event',
    api_version: '2025-10-29.clover',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  });
}

/** A subscription object as Stripe's API shapes it, naming the tenant in its metadata. */
function subscription(status: string, extra: Record<string, unknown> = {}, tenantId = tenant.id) {
  return {
    id: 'sub_1Forecourt',
    object: 'subscription',
    customer: 'cus_Forecourt1',
    status,
    cancel_at_period_end: false,
    metadata: { tenant_id: tenantId, plan_code: 'standard' },
    items: {
      object: 'list',
      data: [
        {
          id: 'si_1',
          current_period_end: clock + 30 * 86_400,
          price: { id: 'price_1', lookup_key: 'standard' },
        },
      ],
    },
    ...extra,
  };
}

async function deliver(
  payload: string,
  header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
) {
  const response = await api.app.inject({
    method: 'POST',
    url: '/v1/webhooks/stripe',
    // As Stripe sends it: JSON with its charset.
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
    payload,
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const current = () => currentSubscription(fixture);

const storedEvents = (eventId: string) => storedBillingEvents(fixture, 'stripe', eventId);

const idOf = (payload: string) => (JSON.parse(payload) as { id: string }).id;

describe('Stripe webhooks', () => {
  it('accept an event signed with the secret, and the subscription shows what it said', async () => {
    const payload = stripeEvent('customer.subscription.created', subscription('trialing'));
    expect(await deliver(payload)).toEqual({ status: 200, body: { received: true, outcome: 'applied' } });
    expect(await current()).toMatchObject({
      status: 200,
      body: { provider: 'stripe', status: 'trialing', cancelAtPeriodEnd: false, plan: 'standard' },
    });
    expect(await storedEvents(idOf(payload))).toEqual([{ tenant_id: tenant.id, outcome: 'applied' }]);
    const { rows } = await owner.query('select 1 from audit_events where tenant_id = $1 and action = $2', [
      tenant.id,
      'billing.event',
    ]);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('refuse with 400 and change nothing: a flipped byte in body or signature, a stale timestamp, another secret', async () => {
    const before = await current();
    const payload = stripeEvent('customer.subscription.updated', subscription('unpaid'));
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const flippedBody = payload.replace('"unpaid"', '"unpaie"');
    const signature = header.split('v1=')[1]!;
    const flippedSignature = `${header.split('v1=')[0]}v1=${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`;
    const stale = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    const otherSecret = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else' });
    for (const [body, signed] of [
      [flippedBody, header],
      [payload, flippedSignature],
      [payload, stale],
      [payload, otherSecret],
      [payload, ''],
    ] as const) {
      const refused = await deliver(body, signed);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ status: 400, type: '/problems/billing-bad-signature' });
    }
    expect(await storedEvents(idOf(payload))).toEqual([]);
    expect(await current()).toEqual(before);
  });

  it('answer a replay with 2xx and change nothing', async () => {
    const payload = stripeEvent('customer.subscription.updated', subscription('active'));
    expect((await deliver(payload)).body).toMatchObject({ outcome: 'applied' });
    await owner.query(
      `update subscriptions set status = 'unpaid' where tenant_id = $1`, // what a later event would have set
      [tenant.id],
    );
    expect(await deliver(payload)).toEqual({ status: 200, body: { received: true, outcome: 'duplicate' } });
    expect((await current()).body).toMatchObject({ status: 'unpaid' });
    expect(await storedEvents(idOf(payload))).toHaveLength(1);
    await owner.query(`update subscriptions set status = 'active' where tenant_id = $1`, [tenant.id]);
  });

  it('keep the newer state when an older update arrives after it', async () => {
    const older = stripeEvent('customer.subscription.updated', subscription('past_due'), (clock += 10));
    const newer = stripeEvent('customer.subscription.updated', subscription('active'), (clock += 10));
    expect((await deliver(newer)).body).toMatchObject({ outcome: 'applied' });
    expect((await deliver(older)).body).toMatchObject({ outcome: 'stale' });
    expect((await current()).body).toMatchObject({ status: 'active' });
    expect(await storedEvents(idOf(older))).toEqual([{ tenant_id: tenant.id, outcome: 'stale' }]);
  });

  it('follow a whole lifecycle: trial, active, past due, active again, cancelled', async () => {
    const steps: [string, Record<string, unknown>, string][] = [
      ['customer.subscription.updated', subscription('trialing'), 'trialing'],
      ['customer.subscription.updated', subscription('active'), 'active'],
      ['customer.subscription.updated', subscription('past_due'), 'past_due'],
      ['customer.subscription.updated', subscription('active'), 'active'],
      ['customer.subscription.updated', subscription('active', { cancel_at_period_end: true }), 'active'],
      ['customer.subscription.deleted', subscription('canceled'), 'cancelled'],
    ];
    const pastDueSince: (Date | null)[] = [];
    for (const [type, object, status] of steps) {
      expect((await deliver(stripeEvent(type, object))).body).toMatchObject({ outcome: 'applied' });
      expect((await current()).body).toMatchObject({ status });
      const { rows } = await owner.query<{ past_due_since: Date | null }>(
        'select past_due_since from subscriptions where tenant_id = $1',
        [tenant.id],
      );
      pastDueSince.push(rows[0]!.past_due_since);
    }
    expect(pastDueSince.map((at) => at !== null)).toEqual([false, false, true, false, false, false]);
    const { rows } = await owner.query<{ cancelled_at: Date | null; cancel_at_period_end: boolean }>(
      'select cancelled_at, cancel_at_period_end from subscriptions where tenant_id = $1',
      [tenant.id],
    );
    expect(rows[0]!.cancelled_at).not.toBeNull();
    // The tenant follows: cancelled, with access to the end of the period paid for.
    const { rows: tenants } = await owner.query<{
      status: string;
      cancelled_at: Date | null;
      until: Date | null;
      access_until: Date | null;
      delete_after: Date | null;
    }>(
      'select status, cancelled_at, billing_period_end as until, access_until, delete_after from tenants where id = $1',
      [tenant.id],
    );
    expect(tenants[0]).toMatchObject({ status: 'cancelled' });
    expect(tenants[0]!.cancelled_at).not.toBeNull();
    const { rows: periods } = await owner.query<{ end: Date }>(
      'select current_period_end as end from subscriptions where tenant_id = $1',
      [tenant.id],
    );
    expect(tenants[0]!.until).toEqual(periods[0]!.end);
    expect(tenants[0]!.until).not.toBeNull();
    // ... then the same 30 days of grace as a cancellation by the dealer's admin.
    expect(tenants[0]!.access_until).toEqual(periods[0]!.end);
    expect(tenants[0]!.delete_after).toEqual(new Date(periods[0]!.end.getTime() + 30 * 86_400_000));
  });

  it('take a billing cancellation back when a live subscription follows', async () => {
    expect((await deliver(stripeEvent('customer.subscription.created', subscription('active')))).status).toBe(
      200,
    );
    const { rows } = await owner.query<{ status: string; cancelled_at: Date | null }>(
      'select status, cancelled_at from tenants where id = $1',
      [tenant.id],
    );
    expect(rows[0]).toEqual({ status: 'active', cancelled_at: null });
    const { rows: dates } = await owner.query(
      'select access_until, delete_after from tenants where id = $1',
      [tenant.id],
    );
    expect(dates[0]).toEqual({ access_until: null, delete_after: null });
  });

  it('store an event about an unknown tenant in the platform rows without acting on it', async () => {
    const stranger = newId();
    const payload = stripeEvent('customer.subscription.created', subscription('active', {}, stranger));
    expect((await deliver(payload)).body).toMatchObject({ outcome: 'unknown_tenant' });
    expect(await storedEvents(idOf(payload))).toEqual([
      { tenant_id: PLATFORM_TENANT_ID, outcome: 'unknown_tenant' },
    ]);
    const { rowCount } = await owner.query('select 1 from subscriptions where tenant_id = $1', [stranger]);
    expect(rowCount).toBe(0);
  });

  it('store and acknowledge a type it does not act on', async () => {
    const payload = stripeEvent('customer.updated', {
      id: 'cus_Forecourt1',
      object: 'customer',
      metadata: { tenant_id: tenant.id },
    });
    expect((await deliver(payload)).body).toMatchObject({ outcome: 'ignored' });
    expect(await storedEvents(idOf(payload))).toEqual([{ tenant_id: tenant.id, outcome: 'ignored' }]);
  });

  it('drop a provider value that would not fit its column instead of failing the event', async () => {
    const long = `https://invoice.stripe.com/i/${'x'.repeat(2100)}`;
    const payload = stripeEvent('invoice.finalized', {
      id: 'in_LongLink',
      object: 'invoice',
      amount_due: 1_000,
      currency: 'usd',
      status: 'open',
      created: clock,
      hosted_invoice_url: long,
      parent: { subscription_details: { metadata: { tenant_id: tenant.id } } },
    });
    expect(await deliver(payload)).toMatchObject({ status: 200, body: { outcome: 'applied' } });
    const { rows } = await owner.query(
      'select hosted_invoice_url as url from invoices where provider_invoice_id = $1',
      ['in_LongLink'],
    );
    expect(rows).toEqual([{ url: null }]);
    const odd = stripeEvent('invoice.finalized', {
      id: 'in_OddCurrency',
      object: 'invoice',
      amount_due: 1_000,
      currency: 'usdt',
      status: 'open',
      created: clock,
      parent: { subscription_details: { metadata: { tenant_id: tenant.id } } },
    });
    expect(await deliver(odd)).toMatchObject({ status: 200, body: { outcome: 'ignored' } });
  });

  it('keep an invoice as metadata: amount, currency, status, link', async () => {
    const payload = stripeEvent('invoice.paid', {
      id: 'in_1Forecourt',
      object: 'invoice',
      amount_due: 24_500,
      total: 24_500,
      currency: 'usd',
      status: 'paid',
      created: clock,
      hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1/test_1',
      customer: 'cus_Forecourt1',
      parent: {
        subscription_details: { metadata: { tenant_id: tenant.id }, subscription: 'sub_1Forecourt' },
      },
      payment_settings: { payment_method_types: ['card'] },
      last_finalization_error: null,
    });
    expect((await deliver(payload)).body).toMatchObject({ outcome: 'applied' });
    const { rows } = await owner.query(
      'select amount_minor::int as amount, currency, status, hosted_invoice_url as url from invoices where tenant_id = $1 and provider_invoice_id = $2',
      [tenant.id, 'in_1Forecourt'],
    );
    expect(rows).toEqual([
      { amount: 24_500, currency: 'USD', status: 'paid', url: 'https://invoice.stripe.com/i/acct_1/test_1' },
    ]);
    // The dealer admin reads it as metadata, and the read is recorded with the ids returned.
    const listed = await api.app.inject({
      method: 'GET',
      url: `/v1/tenants/${tenant.id}/billing/invoices?limit=200`,
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'x-request-id': 'invoice-list-1' },
    });
    expect(listed.statusCode).toBe(200);
    const page = listed.json<{ data: Record<string, unknown>[] }>();
    const invoice = page.data.find(
      (row) => row.hostedInvoiceUrl === 'https://invoice.stripe.com/i/acct_1/test_1',
    );
    expect(Object.keys(invoice ?? {}).sort()).toEqual([
      'amountMinor',
      'currency',
      'hostedInvoiceUrl',
      'id',
      'issuedAt',
      'status',
    ]);
    expect(invoice).toMatchObject({ amountMinor: 24_500, currency: 'USD', status: 'paid' });
    const { rows: events } = await owner.query<{ subject_ids: string[] }>(
      `select subject_ids from audit_events where request_id = 'invoice-list-1' and action = 'invoice.list'`,
    );
    expect(events).toEqual([{ subject_ids: page.data.map((row) => row.id) }]);
  });
});

describe('a subscription behind on payment', () => {
  const createStore = async () =>
    (
      await api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant.id}/stores`,
        headers: { authorization: `Bearer ${fixture.adminToken}` },
        payload: { name: `Store ${newId().slice(-8)}` },
      })
    ).statusCode;
  const listStores = async () =>
    (
      await api.app.inject({
        method: 'GET',
        url: `/v1/tenants/${tenant.id}/stores`,
        headers: { authorization: `Bearer ${fixture.adminToken}` },
      })
    ).statusCode;

  it('warns with the date it turns read-only, then refuses changes (402) but not reads once the grace ends', async () => {
    expect((await deliver(stripeEvent('customer.subscription.updated', subscription('active')))).status).toBe(
      200,
    );
    expect((await current()).body).toMatchObject({ status: 'active', readOnlyFrom: null });

    expect(
      (await deliver(stripeEvent('customer.subscription.updated', subscription('past_due')))).status,
    ).toBe(200);
    const warned = (await current()).body;
    const { rows } = await owner.query<{ since: Date }>(
      'select past_due_since as since from subscriptions where tenant_id = $1',
      [tenant.id],
    );
    // BILLING_GRACE_DAYS defaults to 14.
    expect(new Date(String(warned.readOnlyFrom)).getTime()).toBe(rows[0]!.since.getTime() + 14 * 86_400_000);
    expect(await createStore()).toBe(201);

    // The grace window has passed (as if 15 days went by).
    await owner.query(
      `update subscriptions set past_due_since = now() - interval '15 days' where tenant_id = $1`,
      [tenant.id],
    );
    const refused = await api.app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/stores`,
      headers: { authorization: `Bearer ${fixture.adminToken}` },
      payload: { name: 'One store too many' },
    });
    expect(refused.statusCode).toBe(402);
    expect(refused.json()).toMatchObject({ type: '/problems/access-tenant-read-only' });
    expect(await listStores()).toBe(200);
    expect((await current()).status).toBe(200);

    // Paid up: writable again at once.
    expect((await deliver(stripeEvent('customer.subscription.updated', subscription('active')))).status).toBe(
      200,
    );
    expect((await current()).body).toMatchObject({ status: 'active', readOnlyFrom: null });
    expect(await createStore()).toBe(201);
  });
});

describe('billing tables after realistic provider payloads', () => {
  it('hold no value that could be a payment card number', async () => {
    const card = {
      brand: 'visa',
      last4: '4242',
      exp_month: 12,
      exp_year: 2034,
      country: 'US',
      fingerprint: 'Xt5EWLLDS7FJjR1c',
      funding: 'credit',
    };
    await deliver(
      stripeEvent('charge.succeeded', {
        id: 'ch_3Forecourt',
        object: 'charge',
        amount: 24_500,
        currency: 'usd',
        customer: 'cus_Forecourt1',
        metadata: { tenant_id: tenant.id },
        payment_method: 'pm_1Forecourt',
        payment_method_details: { type: 'card', card },
        billing_details: {
          email: 'billing@example.test',
          phone: '+14155552671',
          address: { postal_code: '94107' },
        },
        receipt_url: 'https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8x',
      }),
    );
    await deliver(
      stripeEvent('invoice.payment_succeeded', {
        id: 'in_2Forecourt',
        object: 'invoice',
        amount_due: 9_900,
        currency: 'usd',
        status: 'paid',
        created: clock,
        number: 'FC-0002',
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1/test_2',
        parent: { subscription_details: { metadata: { tenant_id: tenant.id } } },
        default_payment_method: { id: 'pm_1Forecourt', card },
      }),
    );
    const texts = await billingTableTexts(fixture);
    expect(texts.length).toBeGreaterThan(10);
    // The scanner itself finds one where there is one.
    expect(findsCardNumber(JSON.stringify({ number: '4242 4242 4242 4242' }))).toBe(true);
    expect(texts.filter(findsCardNumber)).toEqual([]);
  });
});

describe('Stripe webhooks without a secret', () => {
  let bare: TestApi;

  beforeAll(async () => {
    bare = await startTestApi();
  });

  afterAll(() => bare.close());

  it('answer 503 and accept nothing', async () => {
    const payload = stripeEvent('customer.subscription.created', subscription('active'));
    const response = await bare.app.inject({
      method: 'POST',
      url: '/v1/webhooks/stripe',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
      },
      payload,
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ type: '/problems/billing-webhook-not-configured' });
  });
});
