import { createHmac } from 'node:crypto';
import { Pool } from 'pg';
import Razorpay from 'razorpay';
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

const SECRET = 'rzp_forecourt_test_webhook_secret';

let fixture: BillingFixture;
let api: TestApi;
let owner: Pool;
let tenant: SeededTenant;
let clock = Math.floor(Date.now() / 1000) - 3600;
let counter = 0;

beforeAll(async () => {
  fixture = await startBillingFixture({ RAZORPAY_WEBHOOK_SECRET: SECRET }, 'billing-razorpay');
  ({ api, owner, tenant } = fixture);
});

afterAll(() => closeBillingFixture(fixture));

/**
 * The SDK verifies but has no signing helper, so a test signs as Razorpay documents it: the
 * hex HMAC-SHA256 of the raw body under the webhook secret.
 */
function sign(body: string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

interface Delivery {
  body: string;
  eventId: string;
}

/**
 * A Razorpay webhook as Razorpay sends it: the body (`created_at` seconds after the previous one
 * unless given) and its id, which travels in the `x-razorpay-event-id` header.
 */
function razorpayEvent(
  type: string,
  entities: Record<string, Record<string, unknown>>,
  created = (clock += 10),
): Delivery {
  counter += 1;
  const payload = Object.fromEntries(Object.entries(entities).map(([name, entity]) => [name, { entity }]));
  return {
    eventId: `evt_Rzp${counter}${newId().slice(-8)}`,
    body: JSON.stringify({
      entity: 'event',
      account_id: 'acc_ForecourtTest1',
      event: type,
      contains: Object.keys(entities),
      payload,
      created_at: created,
    }),
  };
}

/** A subscription entity as Razorpay's API shapes it, naming the tenant in its notes. */
function subscription(status: string, extra: Record<string, unknown> = {}, tenantId = tenant.id) {
  return {
    id: 'sub_ForecourtRzp1',
    entity: 'subscription',
    plan_id: 'plan_ForecourtStd',
    customer_id: 'cust_ForecourtRzp1',
    status,
    current_start: clock,
    current_end: clock + 30 * 86_400,
    ended_at: null,
    quantity: 3,
    notes: { tenant_id: tenantId, plan_code: 'standard' },
    charge_at: clock + 30 * 86_400,
    start_at: clock,
    end_at: clock + 365 * 86_400,
    auth_attempts: 0,
    total_count: 12,
    paid_count: 1,
    customer_notify: true,
    created_at: clock - 86_400,
    expire_by: null,
    short_url: null,
    has_scheduled_changes: false,
    change_scheduled_at: null,
    source: 'api',
    payment_method: 'card',
    offer_id: null,
    remaining_count: 11,
    ...extra,
  };
}

/** A card payment entity as Razorpay sends it: the card's id, last four digits and network only. */
function payment(extra: Record<string, unknown> = {}) {
  return {
    id: 'pay_ForecourtRzp1',
    entity: 'payment',
    amount: 1_499_900,
    currency: 'INR',
    status: 'captured',
    order_id: 'order_ForecourtRzp1',
    invoice_id: 'inv_ForecourtRzp1',
    international: false,
    method: 'card',
    amount_refunded: 0,
    captured: true,
    description: 'Forecourt standard, 3 stores',
    card_id: 'card_ForecourtRzp1',
    card: {
      id: 'card_ForecourtRzp1',
      entity: 'card',
      name: 'Asha Rao',
      last4: '1111',
      network: 'Visa',
      type: 'credit',
      issuer: 'HDFC',
      international: false,
      emi: false,
      sub_type: 'consumer',
    },
    bank: null,
    wallet: null,
    vpa: null,
    email: 'accounts@dealer.example.test',
    contact: '+919876543210',
    customer_id: 'cust_ForecourtRzp1',
    token_id: 'token_ForecourtRzp1',
    notes: [],
    fee: 35_398,
    tax: 5_400,
    error_code: null,
    error_description: null,
    acquirer_data: { auth_code: '828553' },
    created_at: clock,
    ...extra,
  };
}

/** An invoice entity as Razorpay sends it for a subscription's charge. */
function invoice(extra: Record<string, unknown> = {}) {
  return {
    id: 'inv_ForecourtRzp1',
    entity: 'invoice',
    type: 'invoice',
    customer_id: 'cust_ForecourtRzp1',
    customer_details: { id: 'cust_ForecourtRzp1', name: 'Rao Motors', email: 'accounts@dealer.example.test' },
    order_id: 'order_ForecourtRzp1',
    subscription_id: 'sub_ForecourtRzp1',
    payment_id: 'pay_ForecourtRzp1',
    status: 'paid',
    amount: 1_499_900,
    amount_paid: 1_499_900,
    amount_due: 0,
    currency: 'INR',
    short_url: 'https://rzp.io/i/Fc1Rzp',
    notes: { tenant_id: tenant.id },
    created_at: clock,
    issued_at: clock,
    paid_at: clock,
    expired_at: null,
    ...extra,
  };
}

async function deliver(
  { body, eventId }: Delivery,
  headers: Record<string, string> = { 'x-razorpay-signature': sign(body), 'x-razorpay-event-id': eventId },
) {
  const response = await api.app.inject({
    method: 'POST',
    url: '/v1/webhooks/razorpay',
    headers: { 'content-type': 'application/json', ...headers },
    payload: body,
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const current = () => currentSubscription(fixture);

const storedEvents = (eventId: string) => storedBillingEvents(fixture, 'razorpay', eventId);

describe('Razorpay webhooks', () => {
  it('accept an event signed with the secret, and the subscription shows what it said', async () => {
    const delivery = razorpayEvent('subscription.authenticated', {
      subscription: subscription('authenticated'),
    });
    // The SDK's own check agrees with how the test signs.
    expect(Razorpay.validateWebhookSignature(delivery.body, sign(delivery.body), SECRET)).toBe(true);
    expect(await deliver(delivery)).toEqual({ status: 200, body: { received: true, outcome: 'applied' } });
    expect(await current()).toMatchObject({
      status: 200,
      body: { provider: 'razorpay', status: 'trialing', cancelAtPeriodEnd: false, plan: 'standard' },
    });
    expect(await storedEvents(delivery.eventId)).toEqual([{ tenant_id: tenant.id, outcome: 'applied' }]);
    const { rows } = await owner.query(
      `select 1 from audit_events where tenant_id = $1 and action = 'billing.event' and reason like 'razorpay %'`,
      [tenant.id],
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('refuse with 400 and change nothing: a flipped byte in body or signature, another secret, no signature', async () => {
    const before = await current();
    const delivery = razorpayEvent('subscription.halted', { subscription: subscription('halted') });
    const signature = sign(delivery.body);
    const flippedBody = delivery.body.replace('"halted"', '"haltee"');
    const flippedSignature = `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`;
    const id = { 'x-razorpay-event-id': delivery.eventId };
    for (const [body, headers] of [
      [flippedBody, { ...id, 'x-razorpay-signature': signature }],
      [delivery.body, { ...id, 'x-razorpay-signature': flippedSignature }],
      [delivery.body, { ...id, 'x-razorpay-signature': sign(delivery.body, 'someone_elses_secret') }],
      [delivery.body, { ...id, 'x-razorpay-signature': '' }],
      [delivery.body, id],
    ] as const) {
      const refused = await deliver({ body, eventId: delivery.eventId }, headers);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ status: 400, type: '/problems/billing-bad-signature' });
    }
    expect(await storedEvents(delivery.eventId)).toEqual([]);
    expect(await current()).toEqual(before);
  });

  it('refuse a body whose bytes are not UTF-8, even where the text it would decode to is signed', async () => {
    const delivery = razorpayEvent('subscription.halted', { subscription: subscription('halted') });
    // A lenient decoder reads both a lone 0xff byte and U+FFFD's own bytes as U+FFFD.
    const signedText = delivery.body.replace('"halted"', '"halted\uFFFD"');
    const bytes = Buffer.concat([
      Buffer.from(delivery.body.slice(0, delivery.body.indexOf('"halted"') + 7)),
      Buffer.from([0xff]),
      Buffer.from(delivery.body.slice(delivery.body.indexOf('"halted"') + 7)),
    ]);
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/webhooks/razorpay',
      headers: {
        'content-type': 'application/json',
        'x-razorpay-signature': sign(signedText),
        'x-razorpay-event-id': delivery.eventId,
      },
      payload: bytes,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ type: '/problems/billing-bad-signature' });
    expect(await storedEvents(delivery.eventId)).toEqual([]);
  });

  it('refuse a verified event without an x-razorpay-event-id as malformed, storing nothing', async () => {
    const count = async () => (await owner.query('select 1 from billing_events')).rowCount;
    const before = await count();
    const delivery = razorpayEvent('subscription.activated', { subscription: subscription('active') });
    const refused = await deliver(delivery, { 'x-razorpay-signature': sign(delivery.body) });
    expect(refused).toMatchObject({ status: 400, body: { type: '/problems/billing-malformed-event' } });
    expect(await count()).toBe(before);
  });

  it('answer a replay with 2xx and change nothing', async () => {
    const delivery = razorpayEvent('subscription.activated', { subscription: subscription('active') });
    expect((await deliver(delivery)).body).toMatchObject({ outcome: 'applied' });
    await owner.query(
      `update subscriptions set status = 'unpaid' where tenant_id = $1`, // what a later event would have set
      [tenant.id],
    );
    expect(await deliver(delivery)).toEqual({ status: 200, body: { received: true, outcome: 'duplicate' } });
    expect((await current()).body).toMatchObject({ status: 'unpaid' });
    expect(await storedEvents(delivery.eventId)).toHaveLength(1);
    await owner.query(`update subscriptions set status = 'active' where tenant_id = $1`, [tenant.id]);
  });

  it('keep the newer state when an older subscription event arrives after it', async () => {
    const older = razorpayEvent(
      'subscription.pending',
      { subscription: subscription('pending') },
      (clock += 10),
    );
    const newer = razorpayEvent(
      'subscription.charged',
      { subscription: subscription('active') },
      (clock += 10),
    );
    expect((await deliver(newer)).body).toMatchObject({ outcome: 'applied' });
    expect((await deliver(older)).body).toMatchObject({ outcome: 'stale' });
    expect((await current()).body).toMatchObject({ status: 'active' });
    expect(await storedEvents(older.eventId)).toEqual([{ tenant_id: tenant.id, outcome: 'stale' }]);
  });

  it('follow a whole lifecycle: authenticated, activated, pending, charged, cancelled', async () => {
    const steps: [string, string, string][] = [
      ['subscription.authenticated', 'authenticated', 'trialing'],
      ['subscription.activated', 'active', 'active'],
      ['subscription.pending', 'pending', 'past_due'],
      ['subscription.charged', 'active', 'active'],
      ['subscription.cancelled', 'cancelled', 'cancelled'],
    ];
    const pastDueSince: (Date | null)[] = [];
    for (const [type, razorpayStatus, status] of steps) {
      const entities: Record<string, Record<string, unknown>> = {
        subscription: subscription(razorpayStatus),
      };
      if (type === 'subscription.charged') entities.payment = payment();
      expect((await deliver(razorpayEvent(type, entities))).body).toMatchObject({ outcome: 'applied' });
      expect(await current()).toMatchObject({ status: 200, body: { provider: 'razorpay', status } });
      const { rows } = await owner.query<{ past_due_since: Date | null }>(
        'select past_due_since from subscriptions where tenant_id = $1',
        [tenant.id],
      );
      pastDueSince.push(rows[0]!.past_due_since);
    }
    expect(pastDueSince.map((at) => at !== null)).toEqual([false, false, true, false, false]);
    const { rows } = await owner.query<{
      cancelled_at: Date | null;
      provider_subscription_id: string;
      provider_customer_id: string;
      current_period_end: Date;
    }>(
      `select cancelled_at, provider_subscription_id, provider_customer_id, current_period_end
         from subscriptions where tenant_id = $1`,
      [tenant.id],
    );
    expect(rows[0]).toMatchObject({
      provider_subscription_id: 'sub_ForecourtRzp1',
      provider_customer_id: 'cust_ForecourtRzp1',
    });
    expect(rows[0]!.cancelled_at).not.toBeNull();
    expect(rows[0]!.current_period_end.getTime()).toBeGreaterThan(Date.now());
  });

  it('read the status of every subscription event from the entity, in Forecourt terms', async () => {
    for (const [razorpayStatus, status] of [
      ['created', 'unpaid'],
      ['halted', 'unpaid'],
      ['paused', 'past_due'],
      ['completed', 'cancelled'],
      ['expired', 'cancelled'],
      ['active', 'active'],
    ]) {
      const delivery = razorpayEvent('subscription.updated', { subscription: subscription(razorpayStatus!) });
      expect((await deliver(delivery)).body).toMatchObject({ outcome: 'applied' });
      expect((await current()).body).toMatchObject({ status });
    }
  });

  it('take the plan code from plan_id when the notes name none', async () => {
    const delivery = razorpayEvent('subscription.updated', {
      subscription: subscription('active', { notes: { tenant_id: tenant.id } }),
    });
    expect((await deliver(delivery)).body).toMatchObject({ outcome: 'applied' });
    const { rows } = await owner.query<{ plan_code: string }>(
      'select plan_code from subscriptions where tenant_id = $1',
      [tenant.id],
    );
    expect(rows).toEqual([{ plan_code: 'plan_ForecourtStd' }]);
  });

  it('store an event about an unknown tenant in the platform rows without acting on it', async () => {
    const stranger = newId();
    const delivery = razorpayEvent('subscription.activated', {
      subscription: subscription('active', {}, stranger),
    });
    expect((await deliver(delivery)).body).toMatchObject({ outcome: 'unknown_tenant' });
    expect(await storedEvents(delivery.eventId)).toEqual([
      { tenant_id: PLATFORM_TENANT_ID, outcome: 'unknown_tenant' },
    ]);
    const { rowCount } = await owner.query('select 1 from subscriptions where tenant_id = $1', [stranger]);
    expect(rowCount).toBe(0);
  });

  it('store and acknowledge a type it does not act on, naming the tenant from the payment notes', async () => {
    const delivery = razorpayEvent('payment.captured', {
      payment: payment({ notes: { tenant_id: tenant.id } }),
    });
    expect((await deliver(delivery)).body).toMatchObject({ outcome: 'ignored' });
    expect(await storedEvents(delivery.eventId)).toEqual([{ tenant_id: tenant.id, outcome: 'ignored' }]);
  });

  it('keep an invoice.paid as metadata: amount in paise, currency, status, link', async () => {
    const delivery = razorpayEvent('invoice.paid', { invoice: invoice(), payment: payment() });
    expect((await deliver(delivery)).body).toMatchObject({ outcome: 'applied' });
    const { rows } = await owner.query(
      `select amount_minor::int as amount, currency, status, hosted_invoice_url as url from invoices
        where tenant_id = $1 and provider = 'razorpay' and provider_invoice_id = $2`,
      [tenant.id, 'inv_ForecourtRzp1'],
    );
    expect(rows).toEqual([
      { amount: 1_499_900, currency: 'INR', status: 'paid', url: 'https://rzp.io/i/Fc1Rzp' },
    ]);
  });
});

describe('billing tables after realistic Razorpay payloads', () => {
  it('hold no value that could be a payment card number', async () => {
    await deliver(
      razorpayEvent('subscription.charged', {
        subscription: subscription('active'),
        payment: payment({ id: 'pay_ForecourtRzp2', invoice_id: 'inv_ForecourtRzp2' }),
      }),
    );
    await deliver(
      razorpayEvent('payment.captured', {
        payment: payment({ id: 'pay_ForecourtRzp3', notes: { tenant_id: tenant.id } }),
      }),
    );
    await deliver(
      razorpayEvent('invoice.paid', {
        invoice: invoice({ id: 'inv_ForecourtRzp2', payment_id: 'pay_ForecourtRzp2' }),
        payment: payment({ id: 'pay_ForecourtRzp2' }),
      }),
    );
    const texts = await billingTableTexts(fixture);
    expect(texts.length).toBeGreaterThan(10);
    expect(texts.some((text) => /"last4": ?"1111"/.test(text))).toBe(true);
    // The scanner itself finds one where there is one.
    expect(findsCardNumber(JSON.stringify({ number: '4111 1111 1111 1111' }))).toBe(true);
    expect(texts.filter(findsCardNumber)).toEqual([]);
  });
});

describe('Razorpay webhooks without a secret', () => {
  let bare: TestApi;

  beforeAll(async () => {
    bare = await startTestApi();
  });

  afterAll(() => bare.close());

  it('answer 503 and accept nothing', async () => {
    const { body, eventId } = razorpayEvent('subscription.activated', {
      subscription: subscription('active'),
    });
    const response = await bare.app.inject({
      method: 'POST',
      url: '/v1/webhooks/razorpay',
      headers: {
        'content-type': 'application/json',
        'x-razorpay-signature': sign(body),
        'x-razorpay-event-id': eventId,
      },
      payload: body,
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ type: '/problems/billing-webhook-not-configured' });
  });
});
