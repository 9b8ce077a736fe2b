import { Pool } from 'pg';
import { Sessions } from '@forecourt/auth';
import {
  seedTenant,
  type SeededTenant,
  startStripeServer,
  startTestApi,
  type StripeTestServer,
  TestApi,
} from '@forecourt/test-harness';

const SECRET_KEY = 'sk_test_forecourt_portal';
const PUBLIC_URL = 'https://forecourt.example.test';

let stripe: StripeTestServer;
let api: TestApi;
let owner: Pool;
let tenant: SeededTenant;
let adminToken: string;
let sellerToken: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  api = await startTestApi({
    env: { STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_API_URL: stripe.url, PUBLIC_URL },
  });
  owner = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  const runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 1 });
  tenant = await seedTenant(runtime, 'portal');
  await runtime.end();
  const sessions = api.app.get(Sessions);
  adminToken = (await sessions.issue(tenant.userIds[0]!)).token;
  sellerToken = (await sessions.issue(tenant.userIds[1]!)).token;
});

afterAll(async () => {
  await owner.end();
  await api.close();
  await stripe.close();
});

beforeEach(() => {
  stripe.requests.length = 0;
  stripe.failWith = null;
});

async function openPortal(body: object = {}, app = api, token = adminToken, tenantId = tenant.id) {
  const response = await app.app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenantId}/billing/portal`,
    headers: { authorization: `Bearer ${token}` },
    payload: body,
  });
  return {
    status: response.statusCode,
    type: response.headers['content-type'],
    body: JSON.parse(response.body) as Record<string, unknown>,
    text: response.body,
  };
}

async function customerOf(tenantId: string): Promise<string> {
  const { rows } = await owner.query<{ provider_customer_id: string }>(
    'select provider_customer_id from subscriptions where tenant_id = $1',
    [tenantId],
  );
  return rows[0]!.provider_customer_id;
}

/** Runs `change` on the tenant's subscription, then puts the seeded one back. */
async function withSubscriptionChanged(change: string, test: () => Promise<void>): Promise<void> {
  const { rows } = await owner.query<Record<string, unknown>>(
    'select * from subscriptions where tenant_id = $1',
    [tenant.id],
  );
  const saved = rows[0]!;
  try {
    await owner.query(change, [tenant.id]);
    await test();
  } finally {
    await owner.query('delete from subscriptions where tenant_id = $1', [tenant.id]);
    const columns = Object.keys(saved);
    await owner.query(
      `insert into subscriptions (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((column) => saved[column]),
    );
  }
}

describe('POST /v1/tenants/:tenantId/billing/portal', () => {
  it("gives the dealer admin the link of a Stripe billing portal session for the tenant's customer", async () => {
    const answer = await openPortal({ returnUrl: 'https://dealer.example.test/settings/billing' });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['url']);
    expect(answer.body.url).toMatch(/^https:\/\/billing\.stripe\.com\/p\/session\//);
    expect(stripe.requests).toEqual([
      {
        method: 'POST',
        path: '/v1/billing_portal/sessions',
        authorization: `Bearer ${SECRET_KEY}`,
        form: {
          customer: await customerOf(tenant.id),
          return_url: 'https://dealer.example.test/settings/billing',
        },
      },
    ]);
  });

  it('sends the admin back to PUBLIC_URL when no returnUrl is given', async () => {
    expect((await openPortal()).status).toBe(200);
    expect(stripe.requests[0]?.form.return_url).toBe(PUBLIC_URL);
  });

  it('takes a request with no body at all', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/billing/portal`,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(response.statusCode).toBe(200);
    expect(stripe.requests[0]?.form.return_url).toBe(PUBLIC_URL);
  });

  it('takes an http returnUrl on localhost (local development)', async () => {
    expect((await openPortal({ returnUrl: 'http://localhost:5173/billing' })).status).toBe(200);
    expect(stripe.requests[0]?.form.return_url).toBe('http://localhost:5173/billing');
  });

  it('refuses a returnUrl over plain http to another host, or not a URL, with a 400 naming the field', async () => {
    for (const returnUrl of ['http://dealer.example.test/billing', 'javascript:alert(1)', 'not a url', 42]) {
      const answer = await openPortal({ returnUrl });
      expect({ returnUrl, status: answer.status }).toEqual({ returnUrl, status: 400 });
      expect(answer.text).toContain('returnUrl');
    }
    expect(stripe.requests).toEqual([]);
  });

  it("records billing.portal.open in the tenant's audit trail", async () => {
    const before = await owner.query('select 1 from audit_events where tenant_id = $1 and action = $2', [
      tenant.id,
      'billing.portal.open',
    ]);
    expect((await openPortal()).status).toBe(200);
    const { rows } = await owner.query<{ actor_id: string; subject_type: string; outcome: string }>(
      'select actor_id, subject_type, outcome from audit_events where tenant_id = $1 and action = $2',
      [tenant.id, 'billing.portal.open'],
    );
    expect(rows.length).toBe(before.rows.length + 1);
    expect(rows).toContainEqual({
      actor_id: tenant.userIds[0],
      subject_type: 'Subscription',
      outcome: 'allowed',
    });
  });

  it('refuses a salesperson (403) without asking Stripe', async () => {
    expect((await openPortal({}, api, sellerToken)).status).toBe(403);
    expect(stripe.requests).toEqual([]);
  });

  it('a tenant without a subscription: 404 naming the missing subscription, Stripe not asked', async () => {
    await withSubscriptionChanged('delete from subscriptions where tenant_id = $1', async () => {
      const answer = await openPortal();
      expect(answer.status).toBe(404);
      expect(answer.type).toContain('application/problem+json');
      expect(answer.body).toMatchObject({ type: '/problems/billing-no-subscription' });
      expect(answer.body.detail).toMatch(/no subscription/);
    });
    expect(stripe.requests).toEqual([]);
  });

  it('a Stripe subscription without a customer yet: 409 naming the missing Stripe customer', async () => {
    await withSubscriptionChanged(
      'update subscriptions set provider_customer_id = null where tenant_id = $1',
      async () => {
        const answer = await openPortal();
        expect(answer.status).toBe(409);
        expect(answer.body).toMatchObject({ type: '/problems/billing-no-provider-customer' });
        expect(answer.body.detail).toMatch(/no Stripe customer/);
      },
    );
    expect(stripe.requests).toEqual([]);
  });

  it('a Razorpay subscription: 409, Razorpay has no hosted portal', async () => {
    await withSubscriptionChanged(
      "update subscriptions set provider = 'razorpay', provider_customer_id = 'cust_Razorpay1' where tenant_id = $1",
      async () => {
        const answer = await openPortal();
        expect(answer.status).toBe(409);
        expect(answer.body).toMatchObject({ type: '/problems/billing-no-hosted-portal' });
        expect(answer.body.detail).toMatch(/^Razorpay has no hosted portal; /);
      },
    );
    expect(stripe.requests).toEqual([]);
  });

  it("Stripe answering 500: a 502 problem that repeats nothing of Stripe's message", async () => {
    stripe.failWith = 500;
    const answer = await openPortal();
    expect(answer.status).toBe(502);
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ type: '/problems/billing-provider-unavailable' });
    const customer = await customerOf(tenant.id);
    expect(answer.text).not.toContain(customer);
    expect(answer.text).not.toContain('sk_test');
    expect(answer.text).not.toContain('Something went wrong');
    // The request did reach Stripe (the SDK's one retry may have repeated it).
    expect(stripe.requests.length).toBeGreaterThanOrEqual(1);
    expect(stripe.requests[0]?.form.customer).toBe(customer);
  });

  it('Stripe refusing the request (4xx): a 502 problem too, nothing of the message repeated', async () => {
    stripe.failWith = 400;
    const answer = await openPortal();
    expect(answer.status).toBe(502);
    expect(answer.text).not.toContain('sk_test');
    expect(answer.text).not.toContain(await customerOf(tenant.id));
  });

  it('without STRIPE_SECRET_KEY: 503 problem, and Stripe is not asked', async () => {
    const unconfigured = await startTestApi({ env: { STRIPE_API_URL: stripe.url } });
    try {
      const runtime = new Pool({ connectionString: unconfigured.db.runtimeUrl, max: 1 });
      const other = await seedTenant(runtime, 'nostripe');
      await runtime.end();
      const token = (await unconfigured.app.get(Sessions).issue(other.userIds[0]!)).token;
      const answer = await openPortal({}, unconfigured, token, other.id);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ type: '/problems/billing-provider-not-configured' });
      expect(answer.body.detail).toMatch(/STRIPE_SECRET_KEY/);
    } finally {
      await unconfigured.close();
    }
    expect(stripe.requests).toEqual([]);
  });
});
