import { Body, Controller, Get, Module, Param, Post, Query, UseGuards } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AuthModule, PlatformOwners, SessionGuard } from '@forecourt/auth';
import { AccessGuard, Can } from '@forecourt/authz';
import { invitationTokenFor, SignInClient, startTestApi, TestApi } from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';

/** Store-scoped routes of the shape inventory and leads will have: storeId in path, query, body. */
@Controller('v1/tenants/:tenantId/scope-probe')
@UseGuards(SessionGuard, AccessGuard)
class ScopeProbeController {
  @Get(':storeId')
  @Can('read', 'Vehicle')
  inPath(@Param('storeId') storeId: string) {
    return { storeId };
  }

  @Get()
  @Can('read', 'Vehicle')
  inQuery(@Query('storeId') storeId: string) {
    return { storeId };
  }

  @Post()
  @Can('create', 'Vehicle')
  inBody(@Body() body: { storeId: string }) {
    return { storeId: body.storeId };
  }
}

@Module({ imports: [AuthModule], controllers: [ScopeProbeController] })
class ScopeProbeModule {}

let api: TestApi;
let admin: Pool;
let mailDir: string;
let tenantId: string;
let inScope: string;
let outOfScope: string;
let managerToken: string;
let adminToken: string;

async function call(method: 'GET' | 'POST', url: string, token: string, payload?: object) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, requestId: String(response.headers['x-request-id']) };
}

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-scope-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir }, extraImports: [ScopeProbeModule] });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  const client = new SignInClient(api.app);
  await api.app.get(PlatformOwners).create('owner@scope.test', 'Owner', PASSWORD);
  const owner = (await client.enroll('owner@scope.test', PASSWORD)).token;
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/platform/tenants',
    headers: { authorization: `Bearer ${owner}` },
    payload: { name: 'Scope Group', slug: 'scope', adminEmail: 'admin@scope.test' },
  });
  tenantId = created.json<{ id: string }>().id;
  const accept = async (email: string) => {
    await client.post('/v1/auth/invitations/accept', {
      token: invitationTokenFor(mailDir, email),
      name: email,
      password: PASSWORD,
    });
    return (await client.enroll(email, PASSWORD)).token;
  };
  adminToken = await accept('admin@scope.test');
  const store = async (name: string) =>
    (
      await api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/stores`,
        headers: { authorization: `Bearer ${adminToken}` },
        payload: { name },
      })
    ).json<{ id: string }>().id;
  inScope = await store('North');
  outOfScope = await store('South');
  await api.app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenantId}/invitations`,
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { email: 'manager@scope.test', role: 'dealer_manager', storeIds: [inScope] },
  });
  managerToken = await accept('manager@scope.test');
});

afterAll(async () => {
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('the store-scope guard', () => {
  const base = () => `/v1/tenants/${tenantId}/scope-probe`;

  it('lets a store-scoped member name its own store in the path, the query or the body', async () => {
    expect((await call('GET', `${base()}/${inScope}`, managerToken)).status).toBe(200);
    expect((await call('GET', `${base()}?storeId=${inScope}`, managerToken)).status).toBe(200);
    expect((await call('POST', base(), managerToken, { storeId: inScope })).status).toBe(201);
  });

  it('answers 404 for a store outside its scope, wherever it is named, and records the denial', async () => {
    const refused = [
      await call('GET', `${base()}/${outOfScope}`, managerToken),
      await call('GET', `${base()}?storeId=${outOfScope}`, managerToken),
      await call('POST', base(), managerToken, { storeId: outOfScope }),
    ];
    expect(refused.map((response) => response.status)).toEqual([404, 404, 404]);
    for (const { requestId } of refused) {
      const { rows } = await admin.query<{ action: string; actor_role: string; outcome: string }>(
        'select action, actor_role, outcome from audit_events where tenant_id = $1 and request_id = $2',
        [tenantId, requestId],
      );
      expect(rows).toEqual([{ action: 'authz.denied', actor_role: 'dealer_manager', outcome: 'denied' }]);
    }
  });

  it('lets an all-stores member name any store', async () => {
    expect((await call('GET', `${base()}/${outOfScope}`, adminToken)).status).toBe(200);
  });
});
