import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PlatformOwners } from '@forecourt/auth';
import { invitationTokenFor, mailsIn, SignInClient, startTestApi, TestApi } from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';
let api: TestApi;
let client: SignInClient;
let admin: Pool;
let mailDir: string;
let ownerToken: string;

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-mail-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir, AUTH_FAILED_LIMIT: '1000' } });
  client = new SignInClient(api.app);
  admin = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  await api.app.get(PlatformOwners).create('owner@forecourt.test', 'Olive Owner', PASSWORD);
  ownerToken = (await client.enroll('owner@forecourt.test', PASSWORD)).token;
});

afterAll(async () => {
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  token: string,
  payload?: object,
) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: response.statusCode,
    body: (response.body ? response.json() : null) as Record<string, unknown>,
  };
}

/** Accepts the newest invitation mailed to `email` and completes the first sign-in. */
async function acceptAndSignIn(
  email: string,
  name: string,
): Promise<{ token: string; userId: string; secret: string }> {
  const token = invitationTokenFor(mailDir, email);
  const accepted = await client.post('/v1/auth/invitations/accept', { token, name, password: PASSWORD });
  expect(accepted).toMatchObject({ status: 200, body: { status: 'mfa_enrollment_required' } });
  const session = await client.enroll(email, PASSWORD);
  const me = await client.get('/v1/auth/me', session.token);
  return { token: session.token, userId: (me.body.user as { id: string }).id, secret: session.secret };
}

async function newTenant(slug: string, adminEmail: string) {
  const created = await call('POST', '/v1/platform/tenants', ownerToken, {
    name: `${slug} Group`,
    slug,
    adminEmail,
  });
  expect(created.status).toBe(201);
  const tenantId = created.body.id as string;
  const dealerAdmin = await acceptAndSignIn(adminEmail, `${slug} Admin`);
  return { tenantId, admin: dealerAdmin };
}

describe('a platform owner creates a dealer group', () => {
  let tenantId: string;

  it('answers 201 with the tenant and mails the dealer_admin invitation', async () => {
    const before = mailsIn(mailDir).length;
    const created = await call('POST', '/v1/platform/tenants', ownerToken, {
      name: 'Harbour Motor Group',
      slug: 'harbour',
      adminEmail: 'Dana@Harbour.test',
    });
    expect(created).toMatchObject({
      status: 201,
      body: { slug: 'harbour', name: 'Harbour Motor Group', status: 'active' },
    });
    tenantId = created.body.id as string;
    const mails = mailsIn(mailDir);
    expect(mails).toHaveLength(before + 1);
    expect(mails[mails.length - 1]).toMatch(/^To: dana@harbour\.test/m);
    expect(JSON.stringify(created.body)).not.toMatch(/token/i);
  });

  it('refuses a taken slug with 409', async () => {
    const again = await call('POST', '/v1/platform/tenants', ownerToken, {
      name: 'Other',
      slug: 'harbour',
      adminEmail: 'x@other.test',
    });
    expect(again.status).toBe(409);
  });

  it('lets the invitee accept once, enroll MFA, and be dealer_admin of that tenant only', async () => {
    const token = invitationTokenFor(mailDir, 'dana@harbour.test');
    const accepted = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Dana Admin',
      password: PASSWORD,
    });
    expect(accepted).toMatchObject({ status: 200, body: { status: 'mfa_enrollment_required' } });
    const again = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Dana Admin',
      password: PASSWORD,
    });
    expect(again.status).toBe(401);

    const session = await client.enroll('dana@harbour.test', PASSWORD);
    const me = await client.get('/v1/auth/me', session.token);
    expect(me.body).toMatchObject({
      platformRole: null,
      memberships: [{ tenantId, role: 'dealer_admin', allStores: true, storeIds: [] }],
    });
  });

  it('lists tenants for platform roles', async () => {
    const list = await call('GET', '/v1/platform/tenants?limit=200', ownerToken);
    expect(list.status).toBe(200);
    expect((list.body.data as { id: string }[]).map((t) => t.id)).toContain(tenantId);
  });
});

describe('invitations', () => {
  it('refuses an expired invitation', async () => {
    const { tenantId, admin: dealerAdmin } = await newTenant('expiry', 'admin@expiry.test');
    const invited = await call('POST', `/v1/tenants/${tenantId}/invitations`, dealerAdmin.token, {
      email: 'late@expiry.test',
      role: 'dealer_sales',
      allStores: true,
    });
    expect(invited.status).toBe(201);
    expect(Object.keys(invited.body).sort()).toEqual(['email', 'expiresAt', 'id', 'role']);
    await admin.query(
      `update invitations set expires_at = now() - interval '1 minute' where email = 'late@expiry.test'`,
    );
    const token = invitationTokenFor(mailDir, 'late@expiry.test');
    const accepted = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Late',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(401);
  });

  it('refuses a made-up or tampered token the same way', async () => {
    for (const token of [
      'nonsense',
      `01a20957-f6ab-727b-9493-e6542f1c70c7.${'A'.repeat(43)}`,
      'platform.x',
    ]) {
      expect(
        (await client.post('/v1/auth/invitations/accept', { token, name: 'X', password: PASSWORD })).status,
      ).toBe(401);
    }
  });
});

describe('tenant isolation at the API', () => {
  it("gives a dealer_admin of A a 404 for B's users, invitations and members, and 403 on platform endpoints", async () => {
    const a = await newTenant('alpha-motors', 'admin@alpha.test');
    const b = await newTenant('bravo-motors', 'admin@bravo.test');
    expect((await call('GET', `/v1/tenants/${a.tenantId}/users`, a.admin.token)).status).toBe(200);
    expect((await call('GET', `/v1/tenants/${b.tenantId}/users`, a.admin.token)).status).toBe(404);
    const invite = await call('POST', `/v1/tenants/${b.tenantId}/invitations`, a.admin.token, {
      email: 'spy@alpha.test',
      role: 'dealer_admin',
    });
    expect(invite.status).toBe(404);
    const patch = await call('PATCH', `/v1/tenants/${b.tenantId}/users/${b.admin.userId}`, a.admin.token, {
      role: 'dealer_sales',
    });
    expect(patch.status).toBe(404);
    // B's admin, addressed inside A's tenant: not a member there either.
    const crossPatch = await call(
      'PATCH',
      `/v1/tenants/${a.tenantId}/users/${b.admin.userId}`,
      a.admin.token,
      {
        role: 'dealer_sales',
      },
    );
    expect(crossPatch.status).toBe(404);
    expect((await call('GET', '/v1/platform/tenants', a.admin.token)).status).toBe(403);
    expect(
      (
        await call('POST', '/v1/platform/tenants', a.admin.token, {
          name: 'X',
          slug: 'x-group',
          adminEmail: 'x@x.test',
        })
      ).status,
    ).toBe(403);
    // The platform owner has no standing access to a tenant's people.
    expect((await call('GET', `/v1/tenants/${a.tenantId}/users`, ownerToken)).status).toBe(404);
  });

  // Found by the reliability suite's cross-tenant sweep (test/reliability): with allStores (a
  // dealer_admin's default) the store ids were not checked, and B's store was stored in A's invitation.
  it("refuses an invitation into A that names B's store, whether or not it has all stores", async () => {
    const a = await newTenant('charlie-motors', 'admin@charlie.test');
    const b = await newTenant('delta-motors', 'admin@delta.test');
    const bStore = await call('POST', `/v1/tenants/${b.tenantId}/stores`, b.admin.token, {
      name: 'Delta One',
    });
    for (const invitation of [
      { role: 'dealer_admin' },
      { role: 'dealer_sales', allStores: true },
      { role: 'dealer_sales' },
    ]) {
      const refused = await call('POST', `/v1/tenants/${a.tenantId}/invitations`, a.admin.token, {
        email: 'stray@charlie.test',
        storeIds: [bStore.body.id],
        ...invitation,
      });
      expect({ invitation, status: refused.status }).toEqual({ invitation, status: 400 });
    }
    const { rows } = await admin.query(`select 1 from invitations where email = 'stray@charlie.test'`);
    expect(rows).toEqual([]);
  });
});

describe('members', () => {
  it('changes a role and records it; revoke-sessions and removal end the sessions at once', async () => {
    const { tenantId, admin: dealerAdmin } = await newTenant('members', 'admin@members.test');
    const store = await call('POST', `/v1/tenants/${tenantId}/stores`, dealerAdmin.token, {
      name: 'Members North',
    });
    expect(store.status).toBe(201);
    await call('POST', `/v1/tenants/${tenantId}/invitations`, dealerAdmin.token, {
      email: 'sam@members.test',
      role: 'dealer_sales',
      storeIds: [store.body.id],
    });
    const sam = await acceptAndSignIn('sam@members.test', 'Sam Seller');

    const patched = await call('PATCH', `/v1/tenants/${tenantId}/users/${sam.userId}`, dealerAdmin.token, {
      role: 'dealer_manager',
    });
    expect(patched).toMatchObject({
      status: 200,
      body: { role: 'dealer_manager', storeIds: [store.body.id] },
    });
    const events = await admin.query<{ action: string; changed_fields: string[] | null }>(
      `select action, changed_fields from audit_events
        where tenant_id = $1 and subject_id = $2 and action like 'membership.%' order by at, id`,
      [tenantId, sam.userId],
    );
    expect(events.rows).toEqual([
      { action: 'membership.create', changed_fields: null },
      { action: 'membership.update', changed_fields: ['role'] },
    ]);

    // A second API instance on the same database sees each revocation on the very next request.
    const other = await startTestApi({ shareDatabaseWith: api, env: { MAIL_DIR: mailDir } });
    const elsewhere = new SignInClient(other.app);
    try {
      expect((await elsewhere.get('/v1/auth/me', sam.token)).status).toBe(200);
      const revoked = await call(
        'POST',
        `/v1/tenants/${tenantId}/users/${sam.userId}/revoke-sessions`,
        dealerAdmin.token,
      );
      expect(revoked.status).toBe(204);
      expect((await client.get('/v1/auth/me', sam.token)).status).toBe(401);
      expect((await elsewhere.get('/v1/auth/me', sam.token)).status).toBe(401);
    } finally {
      await other.close();
    }

    // Signs in again (the next time step's code), then is removed from the tenant.
    const fresh = await client.post('/v1/auth/mfa/verify', {
      mfaToken: await client.mfaToken('sam@members.test', PASSWORD),
      code: SignInClient.code(sam.secret, 1),
    });
    expect(fresh.status).toBe(200);
    const removed = await call('DELETE', `/v1/tenants/${tenantId}/users/${sam.userId}`, dealerAdmin.token);
    expect(removed.status).toBe(204);
    expect((await client.get('/v1/auth/me', fresh.body.token as string)).status).toBe(401);
    const list = await call('GET', `/v1/tenants/${tenantId}/users`, dealerAdmin.token);
    expect((list.body.data as { id: string }[]).map((u) => u.id)).not.toContain(sam.userId);
  });
});

describe('platform staff', () => {
  it('invites platform_support, who may list tenants but not create them', async () => {
    const invited = await call('POST', '/v1/platform/staff/invitations', ownerToken, {
      email: 'pat@forecourt.test',
      role: 'platform_support',
    });
    expect(invited).toMatchObject({
      status: 201,
      body: { email: 'pat@forecourt.test', role: 'platform_support' },
    });
    const pat = await acceptAndSignIn('pat@forecourt.test', 'Pat Support');
    expect((await client.get('/v1/auth/me', pat.token)).body).toMatchObject({
      platformRole: 'platform_support',
    });
    expect((await call('GET', '/v1/platform/tenants', pat.token)).status).toBe(200);
    const create = await call('POST', '/v1/platform/tenants', pat.token, {
      name: 'Y',
      slug: 'y-group',
      adminEmail: 'y@y.test',
    });
    expect(create.status).toBe(403);
    const staff = await call('POST', '/v1/platform/staff/invitations', pat.token, {
      email: 'z@z.test',
      role: 'platform_owner',
    });
    expect(staff.status).toBe(403);
  });
});

describe('accepting with an existing account', () => {
  it('adds the membership to the account, only with its password, and answers mfa_required', async () => {
    const first = await newTenant('first-group', 'multi@groups.test');
    const second = await call('POST', '/v1/platform/tenants', ownerToken, {
      name: 'Second Group',
      slug: 'second-group',
      adminEmail: 'multi@groups.test',
    });
    expect(second.status).toBe(201);
    const token = invitationTokenFor(mailDir, 'multi@groups.test');
    const wrong = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Multi',
      password: 'not my password at all',
    });
    expect(wrong.status).toBe(401);
    const accepted = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Multi',
      password: PASSWORD,
    });
    expect(accepted).toMatchObject({ status: 200, body: { status: 'mfa_required' } });
    const me = await client.get('/v1/auth/me', first.admin.token);
    expect((me.body.memberships as { tenantId: string }[]).map((m) => m.tenantId).sort()).toEqual(
      [first.tenantId, second.body.id as string].sort(),
    );
  });

  it('never demotes: a platform owner accepting a support invitation stays owner, and it is recorded', async () => {
    await call('POST', '/v1/platform/staff/invitations', ownerToken, {
      email: 'owner@forecourt.test',
      role: 'platform_support',
    });
    const token = invitationTokenFor(mailDir, 'owner@forecourt.test');
    const accepted = await client.post('/v1/auth/invitations/accept', {
      token,
      name: 'Olive',
      password: PASSWORD,
    });
    expect(accepted).toMatchObject({ status: 200, body: { status: 'mfa_required' } });
    expect((await client.get('/v1/auth/me', ownerToken)).body).toMatchObject({
      platformRole: 'platform_owner',
    });
    const events = await admin.query(
      `select 1 from audit_events e join users u on u.id = e.actor_id
        where u.email = 'owner@forecourt.test' and e.action = 'auth.platform_role.granted'
          and e.tenant_id = '00000000-0000-0000-0000-000000000000'`,
    );
    expect(events.rowCount).toBe(1);
  });
});
