import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PlatformOwners } from '@forecourt/auth';
import {
  invitationTokenFor,
  multipartFile,
  SignInClient,
  startTestApi,
  TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';

let api: TestApi;
let admin: Pool;
let mailDir: string;
let owner: string;
let support: string;
let supportId: string;
let dealerAdmin: string;
let tenantId: string;

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: response.statusCode,
    requestId: String(response.headers['x-request-id']),
    text: response.body,
    body: (String(response.headers['content-type']).includes('json')
      ? JSON.parse(response.body)
      : null) as Record<string, unknown>,
  };
}

async function requestGrant(scope: 'read' | 'support', durationMinutes = 60): Promise<string> {
  const requested = await call('POST', '/v1/platform/support-grants', support, {
    tenantId,
    reason: 'Ticket 4711: the admin cannot see a colleague',
    durationMinutes,
    scope,
  });
  expect(requested).toMatchObject({ status: 201, body: { status: 'pending' } });
  return requested.body.id as string;
}

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-grants-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  const client = new SignInClient(api.app);
  const accept = async (email: string) => {
    await client.post('/v1/auth/invitations/accept', {
      token: invitationTokenFor(mailDir, email),
      name: email.split('@')[0]!,
      password: PASSWORD,
    });
    const token = (await client.enroll(email, PASSWORD)).token;
    return { token, id: ((await client.get('/v1/auth/me', token)).body.user as { id: string }).id };
  };
  await api.app.get(PlatformOwners).create('owner@grants.test', 'Owner', PASSWORD);
  owner = (await client.enroll('owner@grants.test', PASSWORD)).token;
  await call('POST', '/v1/platform/staff/invitations', owner, {
    email: 'sue@grants.test',
    role: 'platform_support',
  });
  ({ token: support, id: supportId } = await accept('sue@grants.test'));
  const created = await call('POST', '/v1/platform/tenants', owner, {
    name: 'Grant Group',
    slug: 'grants',
    adminEmail: 'admin@grants.test',
  });
  tenantId = created.body.id as string;
  dealerAdmin = (await accept('admin@grants.test')).token;
});

afterAll(async () => {
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('a support grant', () => {
  const users = () => `/v1/tenants/${tenantId}/users`;

  it('gives nothing before approval: tenant data answers 404', async () => {
    await requestGrant('support');
    expect((await call('GET', users(), support)).status).toBe(404);
  });

  it("records the request and the revocation in the tenant's trail, by request id", async () => {
    const requested = await call('POST', '/v1/platform/support-grants', support, {
      tenantId,
      reason: 'Ticket 4712: checking a store setting',
      durationMinutes: 15,
      scope: 'support',
    });
    const revoked = await call(
      'DELETE',
      `/v1/tenants/${tenantId}/support-grants/${requested.body.id as string}`,
      dealerAdmin,
    );
    for (const [response, action, role] of [
      [requested, 'support_grant.requested', 'platform_support'],
      [revoked, 'support_grant.revoked', 'dealer_admin'],
    ] as const) {
      const { rows } = await admin.query<{ action: string; actor_role: string; subject_id: string }>(
        'select action, actor_role, subject_id from audit_events where tenant_id = $1 and request_id = $2',
        [tenantId, response.requestId],
      );
      expect(rows).toEqual([{ action, actor_role: role, subject_id: requested.body.id }]);
    }
  });

  it("once approved by the tenant's admin gives exactly its scope, redacted to what the scope may read", async () => {
    const id = await requestGrant('support');
    const approved = await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    expect(approved).toMatchObject({ status: 200, body: { id, status: 'active' } });
    expect(Date.parse(approved.body.expiresAt as string) - Date.now()).toBeGreaterThan(55 * 60_000);

    const listed = await call('GET', users(), support);
    expect(listed.status).toBe(200);
    const people = listed.body.data as Record<string, unknown>[];
    expect(people.length).toBeGreaterThan(0);
    for (const person of people) expect(Object.keys(person).sort()).toEqual(['email', 'id', 'name']);
    // Nothing beyond name and e-mail anywhere in the raw body (the admin's role, stores, status).
    expect(listed.text).not.toMatch(/dealer_admin|allStores|storeIds|"status"|"role"/);
    // The admin still sees every field.
    const full = (await call('GET', users(), dealerAdmin)).body.data as Record<string, unknown>[];
    expect(Object.keys(full[0]!)).toEqual(
      expect.arrayContaining(['role', 'allStores', 'storeIds', 'status']),
    );

    // Outside the scope: refused (the grant lets it in, its scope does not cover these).
    expect((await call('POST', `/v1/tenants/${tenantId}/stores`, support, { name: 'Nope' })).status).toBe(
      403,
    );
    expect((await call('GET', `/v1/tenants/${tenantId}/audit-events/export`, support)).status).toBe(403);

    // Everything done under it is in the tenant's trail with the grant id, and listed on the grant.
    const { rows } = await admin.query<{ action: string; support_grant_id: string | null }>(
      'select action, support_grant_id from audit_events where tenant_id = $1 and request_id = $2',
      [tenantId, listed.requestId],
    );
    expect(rows).toEqual([{ action: 'user.list', support_grant_id: id }]);
    const grants = (await call('GET', `/v1/tenants/${tenantId}/support-grants`, dealerAdmin)).body.data as {
      id: string;
      status: string;
      actions: { action: string; outcome: string }[];
    }[];
    const mine = grants.find((grant) => grant.id === id)!;
    expect(mine.status).toBe('active');
    expect(mine.actions.map((action) => `${action.action}:${action.outcome}`)).toEqual(
      expect.arrayContaining(['user.list:allowed', 'authz.denied:denied']),
    );

    // Revoked: refused from the very next request.
    expect((await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin)).status).toBe(
      204,
    );
    expect((await call('GET', users(), support)).status).toBe(404);
    const revoked = (await call('GET', `/v1/tenants/${tenantId}/support-grants`, dealerAdmin)).body.data as {
      id: string;
      status: string;
    }[];
    expect(revoked.find((grant) => grant.id === id)?.status).toBe('revoked');
  });

  it('a read grant opens the inventory for reading, its media included, and nothing more', async () => {
    const store = await call('POST', `/v1/tenants/${tenantId}/stores`, dealerAdmin, { name: 'Grant Motors' });
    const vehicles = `/v1/tenants/${tenantId}/vehicles`;
    const vehicle = await call('POST', vehicles, dealerAdmin, {
      storeId: store.body.id,
      vin: '1HGCM82633A004352',
      year: 2003,
      make: 'Honda',
      model: 'Accord',
      mileage: 150_000,
      priceMinor: 350_000,
      currency: 'USD',
    });
    const vehicleId = vehicle.body.id as string;
    const upload = multipartFile(TINY_PNG);
    const medium = await api.app.inject({
      method: 'POST',
      url: `${vehicles}/${vehicleId}/media`,
      payload: upload.payload,
      headers: { ...upload.headers, authorization: `Bearer ${dealerAdmin}` },
    });
    const mediaUrl = `${vehicles}/${vehicleId}/media/${medium.json<{ id: string }>().id}`;
    expect((await call('GET', vehicles, support)).status).toBe(404);

    const id = await requestGrant('read');
    await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    const listed = await call('GET', vehicles, support);
    expect(listed.status).toBe(200);
    expect((listed.body.data as { id: string }[]).map((row) => row.id)).toContain(vehicleId);
    const downloaded = await call('GET', mediaUrl, support);
    expect(downloaded.status).toBe(200);
    const { rows } = await admin.query<{ action: string; support_grant_id: string }>(
      'select action, support_grant_id from audit_events where tenant_id = $1 and request_id = $2',
      [tenantId, downloaded.requestId],
    );
    expect(rows).toEqual([{ action: 'vehicle_media.download', support_grant_id: id }]);
    expect((await call('POST', vehicles, support, { storeId: store.body.id })).status).toBe(403);
    expect((await call('DELETE', `${vehicles}/${vehicleId}`, support)).status).toBe(403);
    expect((await call('DELETE', mediaUrl, support)).status).toBe(403);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin);
    expect((await call('GET', vehicles, support)).status).toBe(404);
  });

  it('a read grant shows support leads without contact details, and never customers or messages', async () => {
    const store = await call('POST', `/v1/tenants/${tenantId}/stores`, dealerAdmin, { name: 'Lead Motors' });
    const customer = await call('POST', `/v1/tenants/${tenantId}/customers`, dealerAdmin, {
      storeId: store.body.id,
      name: 'Priya Private',
      email: 'priya@private.test',
    });
    const lead = await call('POST', `/v1/tenants/${tenantId}/leads`, dealerAdmin, {
      storeId: store.body.id,
      customerId: customer.body.id,
      source: 'website',
    });
    const leadId = lead.body.id as string;
    const id = await requestGrant('read');
    await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    const seen = await call('GET', `/v1/tenants/${tenantId}/leads/${leadId}`, support);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: leadId, source: 'website' });
    expect(seen.text).not.toMatch(/Priya|priya@/);
    expect(
      (await call('GET', `/v1/tenants/${tenantId}/customers/${customer.body.id as string}`, support)).status,
    ).toBe(403);
    expect((await call('GET', `/v1/tenants/${tenantId}/leads/${leadId}/messages`, support)).status).toBe(403);
    const { rows } = await admin.query<{ action: string; support_grant_id: string }>(
      'select action, support_grant_id from audit_events where tenant_id = $1 and request_id = $2',
      [tenantId, seen.requestId],
    );
    expect(rows).toEqual([{ action: 'lead.read', support_grant_id: id }]);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin);
  });

  it('expires by itself', async () => {
    const id = await requestGrant('support', 1);
    await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    expect((await call('GET', users(), support)).status).toBe(200);
    await admin.query(`update support_grants set expires_at = now() - interval '1 second' where id = $1`, [
      id,
    ]);
    expect((await call('GET', users(), support)).status).toBe(404);
    const listed = (await call('GET', `/v1/tenants/${tenantId}/support-grants`, dealerAdmin)).body.data as {
      id: string;
      status: string;
    }[];
    expect(listed.find((grant) => grant.id === id)?.status).toBe('expired');
  });

  it('a read grant does not open configuration: users stay out of reach', async () => {
    const id = await requestGrant('read');
    await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    expect((await call('GET', users(), support)).status).toBe(403);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin);
  });

  it('can be approved by a platform owner as break-glass, and that is recorded as such', async () => {
    const id = await requestGrant('support');
    const approved = await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, owner);
    expect(approved.status).toBe(200);
    const { rows } = await admin.query<{ action: string; actor_role: string; reason: string }>(
      'select action, actor_role, reason from audit_events where tenant_id = $1 and request_id = $2',
      [tenantId, approved.requestId],
    );
    expect(rows).toEqual([
      {
        action: 'support_grant.approved',
        actor_role: 'platform_owner',
        reason: 'break-glass approval by a platform owner',
      },
    ]);
    const listed = (await call('GET', `/v1/tenants/${tenantId}/support-grants`, dealerAdmin)).body.data as {
      id: string;
      breakGlass: boolean;
    }[];
    expect(listed.find((grant) => grant.id === id)?.breakGlass).toBe(true);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin);
  });

  it('cannot be approved twice, nor approved by its own requester', async () => {
    const id = await requestGrant('support');
    expect((await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, support)).status).toBe(
      403,
    );
    await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin);
    expect(
      (await call('POST', `/v1/tenants/${tenantId}/support-grants/${id}/approve`, dealerAdmin)).status,
    ).toBe(409);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${id}`, dealerAdmin);
  });

  it('a platform owner cannot approve its own request, and keeps break-glass while holding a grant', async () => {
    const own = await call('POST', '/v1/platform/support-grants', owner, {
      tenantId,
      reason: 'Owner needs a look at the configuration',
      durationMinutes: 30,
      scope: 'support',
    });
    const self = await call(
      'POST',
      `/v1/tenants/${tenantId}/support-grants/${own.body.id as string}/approve`,
      owner,
    );
    expect(self).toMatchObject({
      status: 403,
      body: { type: expect.stringContaining('self-approval') as string },
    });
    expect(
      (
        await call(
          'POST',
          `/v1/tenants/${tenantId}/support-grants/${own.body.id as string}/approve`,
          dealerAdmin,
        )
      ).status,
    ).toBe(200);
    const theirs = await requestGrant('support');
    expect(
      (await call('POST', `/v1/tenants/${tenantId}/support-grants/${theirs}/approve`, owner)).status,
    ).toBe(200);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${theirs}`, dealerAdmin);
    await call('DELETE', `/v1/tenants/${tenantId}/support-grants/${own.body.id as string}`, dealerAdmin);
  });

  it('platform support sees only the grants it asked for', async () => {
    const seen = (await call('GET', `/v1/tenants/${tenantId}/support-grants`, support)).body.data as {
      requesterId: string;
    }[];
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((grant) => grant.requesterId))).toEqual(new Set([supportId]));
  });

  it('refuses a request for an unknown tenant, a too-long duration or a missing reason', async () => {
    const ask = (body: object) => call('POST', '/v1/platform/support-grants', support, body);
    expect(
      (
        await ask({
          tenantId: '01a20957-0000-7000-8000-000000000000',
          reason: 'long enough reason',
          durationMinutes: 5,
          scope: 'read',
        })
      ).status,
    ).toBe(404);
    expect(
      (await ask({ tenantId, reason: 'long enough reason', durationMinutes: 481, scope: 'read' })).status,
    ).toBe(400);
    expect((await ask({ tenantId, durationMinutes: 5, scope: 'read' })).status).toBe(400);
    expect(
      (await ask({ tenantId, reason: `  short${' '.repeat(20)}`, durationMinutes: 5, scope: 'read' })).status,
    ).toBe(400);
    expect(
      (await ask({ tenantId, reason: 'long enough reason', durationMinutes: 5, scope: 'everything' })).status,
    ).toBe(400);
  });
});
