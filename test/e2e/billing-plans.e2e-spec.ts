import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { v7 as newId } from 'uuid';
import { PlatformOwners, Sessions } from '@forecourt/auth';
import {
  inTenant,
  invitationTokenFor,
  seedTenant,
  type SeededTenant,
  SignInClient,
  startTestApi,
  TestApi,
} from '@forecourt/test-harness';

let api: TestApi;
let admin: Pool;
let runtime: Pool;
let ownerToken: string;
let tenant: SeededTenant;
let dealerAdminToken: string;
let mailDir: string;

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-plans-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 2 });
  const ownerId = await api.app
    .get(PlatformOwners)
    .create('owner@plans.test', 'Olive Owner', 'correct horse battery staple');
  ownerToken = (await api.app.get(Sessions).issue(ownerId)).token;
  tenant = await seedTenant(runtime, 'plans');
  dealerAdminToken = (await api.app.get(Sessions).issue(tenant.userIds[0]!)).token;
});

afterAll(async () => {
  await runtime.end();
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: object) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const plan = (code: string, limits: object) => ({
  code,
  name: `Plan ${code}`,
  pricePerStoreMinor: 4900,
  currency: 'USD',
  limits,
});

/** Puts the tenant's subscription on `code`, as a provider event would. */
async function subscribe(code: string): Promise<void> {
  await admin.query(`update subscriptions set plan_code = $2, status = 'active' where tenant_id = $1`, [
    tenant.id,
    code,
  ]);
}

async function storeCount(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'select count(*)::int as n from stores where tenant_id = $1',
    [tenant.id],
  );
  return rows[0]!.n;
}

const createStore = () =>
  call('POST', `/v1/tenants/${tenant.id}/stores`, dealerAdminToken, { name: `Store ${newId().slice(-8)}` });

describe('plans', () => {
  it('are created, listed and changed by the platform owner, each change audited', async () => {
    expect(
      await call('POST', '/v1/platform/plans', ownerToken, plan('starter', { stores: 2, users: 10 })),
    ).toEqual({
      status: 201,
      body: plan('starter', { stores: 2, users: 10 }),
    });
    const changed = { ...plan('starter', { stores: 3 }), name: 'Starter' };
    const { code: _code, ...input } = changed;
    expect(await call('PUT', '/v1/platform/plans/starter', ownerToken, input)).toEqual({
      status: 200,
      body: changed,
    });
    const listed = await call('GET', '/v1/platform/plans', ownerToken);
    expect(listed.body).toEqual(expect.arrayContaining([changed]));
    const { rows } = await admin.query<{ action: string }>(
      `select action from audit_events where tenant_id = '00000000-0000-0000-0000-000000000000' and action like 'plan.%' order by at`,
    );
    expect(rows.map((row) => row.action)).toEqual(['plan.create', 'plan.update']);
  });

  it('refuse a second plan with the same code, an unknown plan and a malformed one', async () => {
    await call('POST', '/v1/platform/plans', ownerToken, plan('dup', {}));
    expect((await call('POST', '/v1/platform/plans', ownerToken, plan('dup', {}))).status).toBe(409);
    const { code: _code, ...input } = plan('nowhere', {});
    expect((await call('PUT', '/v1/platform/plans/nowhere', ownerToken, input)).status).toBe(404);
    const malformed = await call('POST', '/v1/platform/plans', ownerToken, {
      ...plan('Bad Code', { stores: 0 }),
      currency: 'usd',
    });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toMatch(/code must be lower-case/);
    expect(JSON.stringify(malformed.body)).toMatch(/currency must be an ISO 4217 code/);
  });

  // Found by the reliability suite (test/reliability): without `limits` the service read its fields (a 500).
  it('refuse a plan without limits with 400 naming the field, whether created or changed', async () => {
    await call('POST', '/v1/platform/plans', ownerToken, plan('limited', {}));
    const { limits: _limits, ...withoutLimits } = plan('unlimited', {});
    const { code: _code, ...change } = withoutLimits;
    for (const [method, url, payload] of [
      ['POST', '/v1/platform/plans', withoutLimits],
      ['PUT', '/v1/platform/plans/limited', change],
    ] as const) {
      const refused = await call(method, url, ownerToken, payload);
      expect({ method, status: refused.status }).toEqual({ method, status: 400 });
      expect(refused.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'limits' })]),
      );
    }
  });

  it('are the platform owner’s only: a dealer admin is refused', async () => {
    expect((await call('POST', '/v1/platform/plans', dealerAdminToken, plan('mine', {}))).status).toBe(403);
  });
});

describe('plan limits', () => {
  it('refuse a store beyond the plan’s limit with a 402 problem naming the limit', async () => {
    const used = await storeCount();
    await call('POST', '/v1/platform/plans', ownerToken, plan('one-more', { stores: used + 1 }));
    await subscribe('one-more');
    expect((await createStore()).status).toBe(201);
    const refused = await createStore();
    expect(refused).toMatchObject({
      status: 402,
      body: {
        type: '/problems/plan-limit-reached',
        detail: `The plan allows ${used + 1} stores; the tenant has ${used + 1} already`,
      },
    });
    expect(await storeCount()).toBe(used + 1);
  });

  it('let exactly one of two creations at once take the last place', async () => {
    const used = await storeCount();
    await call('POST', '/v1/platform/plans', ownerToken, plan('race', { stores: used + 1 }));
    await subscribe('race');
    const statuses = (await Promise.all([createStore(), createStore()]))
      .map((answer) => answer.status)
      .sort();
    expect(statuses).toEqual([201, 402]);
    expect(await storeCount()).toBe(used + 1);
  });

  it('refuse an active member beyond the plan’s limit, whichever path adds them', async () => {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from memberships where tenant_id = $1 and status = 'active'`,
      [tenant.id],
    );
    await call('POST', '/v1/platform/plans', ownerToken, plan('members', { users: rows[0]!.n }));
    await subscribe('members');
    const userId = newId();
    await admin.query(`insert into users (id, email, name) values ($1, $2, 'Extra')`, [
      userId,
      `extra.${userId}@plans.test`,
    ]);
    await expect(
      inTenant(runtime, { tenantId: tenant.id }, (client) =>
        client.query(
          `insert into memberships (tenant_id, id, user_id, role, all_stores) values ($1, $2, $3, 'dealer_sales', true)`,
          [tenant.id, newId(), userId],
        ),
      ),
    ).rejects.toMatchObject({ code: 'FC402' });
  });

  it('refuse accepting an invitation beyond the members limit with the same 402', async () => {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from memberships where tenant_id = $1 and status = 'active'`,
      [tenant.id],
    );
    await call('POST', '/v1/platform/plans', ownerToken, plan('members-api', { users: rows[0]!.n }));
    await subscribe('members-api');
    const email = `late.${newId().slice(-8)}@plans.test`;
    const invited = await call('POST', `/v1/tenants/${tenant.id}/invitations`, dealerAdminToken, {
      email,
      role: 'dealer_sales',
      allStores: true,
    });
    expect(invited.status).toBe(201);
    const accepted = await new SignInClient(api.app).post('/v1/auth/invitations/accept', {
      token: invitationTokenFor(mailDir, email),
      name: 'Late Joiner',
      password: 'correct horse battery staple',
    });
    expect(accepted).toMatchObject({
      status: 402,
      body: {
        type: '/problems/plan-limit-reached',
        detail: `The plan allows ${rows[0]!.n} active members; the tenant has ${rows[0]!.n} already`,
      },
    });
    // Nothing of the acceptance stayed: no account was made.
    const { rowCount } = await admin.query('select 1 from users where email = $1', [email]);
    expect(rowCount).toBe(0);
  });

  it('do not bind a tenant without a plan limit, nor the schema owner’s restores', async () => {
    await call('POST', '/v1/platform/plans', ownerToken, plan('unlimited', {}));
    await subscribe('unlimited');
    expect((await createStore()).status).toBe(201);
    await call('POST', '/v1/platform/plans', ownerToken, plan('tight', { stores: 1 }));
    await subscribe('tight');
    // As a restore loads a table: the schema owner, the table's forced security off in its transaction.
    const owner = new Pool({ connectionString: api.db.ownerUrl, max: 1 });
    try {
      await owner.query('begin');
      await owner.query('alter table stores no force row level security');
      await owner.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
        tenant.id,
        newId(),
        'Restored store',
      ]);
      await owner.query('alter table stores force row level security');
      await owner.query('commit');
    } finally {
      await owner.end();
    }
    expect((await createStore()).status).toBe(402);
  });
});
