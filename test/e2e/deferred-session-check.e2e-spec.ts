import { Controller, Get, Module, Query, UseGuards } from '@nestjs/common';
import { Pool } from 'pg';
import { AuthModule, SessionGuard, Sessions } from '@forecourt/auth';
import { AccessGuard, Can } from '@forecourt/authz';
import { seedTenant, type SeededTenant, startTestApi, TestApi } from '@forecourt/test-harness';

/** A read that touches no table once the caller's access is cached: nothing to carry the session check. */
@Controller('v1/tenants/:tenantId/tableless-probe')
@UseGuards(SessionGuard, AccessGuard)
class TablelessProbeController {
  @Get()
  @Can('read', 'Vehicle')
  read(@Query('echo') echo: string | undefined) {
    return { echo: echo ?? null };
  }
}

@Module({ imports: [AuthModule], controllers: [TablelessProbeController] })
class TablelessProbeModule {}

let api: TestApi;
let owner: Pool;
let runtime: Pool;
let tenant: SeededTenant;
let adminId: string;
let counter = 0;

beforeAll(async () => {
  api = await startTestApi({ extraImports: [TablelessProbeModule] });
  owner = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 2 });
  tenant = await seedTenant(runtime, 'deferred');
  adminId = tenant.userIds[0]!;
});

afterAll(async () => {
  await runtime.end();
  await owner.end();
  await api.close();
});

/** A new session of the tenant's dealer_admin, already checked once by a read (so the API knows it). */
async function knownSession(): Promise<string> {
  const { token } = await api.app.get(Sessions).issue(adminId);
  expect((await get(leads(), token)).status).toBe(200);
  return token;
}

async function get(url: string, token: string) {
  counter += 1;
  const requestId = `deferred-${counter}-${Date.now()}`;
  const response = await api.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
  });
  return {
    status: response.statusCode,
    requestId: response.headers['x-request-id'],
    body: response.body,
    sent: requestId,
  };
}

const leads = () => `/v1/tenants/${tenant.id}/leads`;
const auditEvents = () => `/v1/tenants/${tenant.id}/audit-events`;
const probe = (query = '') => `/v1/tenants/${tenant.id}/tableless-probe${query}`;

async function eventsOf(requestId: string): Promise<string[]> {
  const { rows } = await owner.query<{ action: string }>(
    'select action from audit_events where request_id = $1 order by at, id',
    [requestId],
  );
  return rows.map((row) => row.action);
}

async function setRole(role: string): Promise<void> {
  // The memberships trigger moves the person's permissions version, as every change of access does.
  await owner.query('update memberships set role = $3 where tenant_id = $1 and user_id = $2', [
    tenant.id,
    adminId,
    role,
  ]);
}

describe('a read by a session the API already knows (the check rides on its first statement)', () => {
  it('makes no separate session check; a write still does', async () => {
    const token = await knownSession();
    const sessions = api.app.get(Sessions);
    const fullChecks = jest.spyOn(sessions, 'authenticate');
    try {
      expect((await get(leads(), token)).status).toBe(200);
      expect(fullChecks).not.toHaveBeenCalled();
      const write = await api.app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(write.statusCode).toBe(204);
      expect(fullChecks).toHaveBeenCalledTimes(1);
    } finally {
      fullChecks.mockRestore();
    }
    expect((await get(leads(), token)).status).toBe(401);
  });

  it('is refused with 401 once the session is revoked, and records nothing', async () => {
    const token = await knownSession();
    await owner.query('update sessions set revoked_at = now() where user_id = $1', [adminId]);
    const refused = await get(leads(), token);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401 });
    expect(await eventsOf(refused.sent)).toEqual([]);
  });

  it('is refused with 401 when the session went idle, expired, or its user was deactivated', async () => {
    const idle = await knownSession();
    await owner.query(
      `update sessions set last_seen_at = now() - interval '31 minutes' where token_hash is not null and user_id = $1 and revoked_at is null`,
      [adminId],
    );
    expect((await get(leads(), idle)).status).toBe(401);

    const expired = await knownSession();
    await owner.query(
      `update sessions set expires_at = now() - interval '1 second' where user_id = $1 and revoked_at is null`,
      [adminId],
    );
    expect((await get(leads(), expired)).status).toBe(401);

    const deactivated = await knownSession();
    await owner.query(`update users set status = 'deactivated' where id = $1`, [adminId]);
    try {
      expect((await get(leads(), deactivated)).status).toBe(401);
    } finally {
      await owner.query(`update users set status = 'active' where id = $1`, [adminId]);
    }
  });

  it('moves the idle clock when it is more than a minute old, as the full check does', async () => {
    const token = await knownSession();
    await owner.query(
      `update sessions set last_seen_at = now() - interval '5 minutes' where user_id = $1 and revoked_at is null`,
      [adminId],
    );
    expect((await get(leads(), token)).status).toBe(200);
    const { rows } = await owner.query<{ age: number }>(
      `select extract(epoch from now() - max(last_seen_at))::float8 as age from sessions where user_id = $1 and revoked_at is null`,
      [adminId],
    );
    expect(rows[0]!.age).toBeLessThan(60);
  });

  it('sees a role taken away on the very next read: served again with the new permissions, one denial recorded', async () => {
    const token = await knownSession();
    expect((await get(auditEvents(), token)).status).toBe(200);
    await setRole('dealer_sales');
    try {
      const next = await get(auditEvents(), token);
      expect(next.status).toBe(403);
      expect(next.requestId).toBe(next.sent);
      expect(await eventsOf(next.sent)).toEqual(['authz.denied']);
    } finally {
      await setRole('dealer_admin');
    }
  });

  it('sees a role given on the very next read: the read that was refused before now succeeds', async () => {
    await setRole('dealer_sales');
    let token: string;
    try {
      token = await knownSession();
      expect((await get(auditEvents(), token)).status).toBe(403);
    } finally {
      await setRole('dealer_admin');
    }
    const next = await get(auditEvents(), token);
    expect(next.status).toBe(200);
    expect(await eventsOf(next.sent)).not.toContain('authz.denied');
  });

  it('sees a platform role taken away on the very next read (the users row moves the permissions version)', async () => {
    await owner.query(`update users set platform_role = 'platform_owner' where id = $1`, [adminId]);
    try {
      const { token } = await api.app.get(Sessions).issue(adminId);
      expect((await get('/v1/platform/tenants', token)).status).toBe(200);
      expect((await get('/v1/platform/tenants', token)).status).toBe(200); // served with the check deferred
      await owner.query(`update users set platform_role = null where id = $1`, [adminId]);
      const next = await get('/v1/platform/tenants', token);
      expect(next.status).toBe(403);
      expect(await eventsOf(next.sent)).toEqual(['authz.denied']);
    } finally {
      await owner.query(`update users set platform_role = null where id = $1`, [adminId]);
    }
  });

  it('answers a read that touches no table only after proving the session', async () => {
    const token = await knownSession();
    expect((await get(probe('?echo=hi'), token)).status).toBe(200);
    await owner.query('update sessions set revoked_at = now() where user_id = $1', [adminId]);
    expect((await get(probe('?echo=hi'), token)).status).toBe(401);
  });

  it('answers a refused input (400) only after proving the session', async () => {
    const token = await knownSession();
    expect((await get(`${leads()}?limit=abc`, token)).status).toBe(400);
    await owner.query('update sessions set revoked_at = now() where user_id = $1', [adminId]);
    expect((await get(`${leads()}?limit=abc`, token)).status).toBe(401);
  });

  it('records no denial found inside a transaction for a caller whose session has ended', async () => {
    const salesId = tenant.userIds[1]!;
    const { token } = await api.app.get(Sessions).issue(salesId);
    const { rows } = await owner.query<{ id: string }>('select id from leads where tenant_id = $1 limit 1', [
      tenant.id,
    ]);
    // A lead assigned to nobody: the row policy refuses it inside the read's transaction (404).
    const messages = `/v1/tenants/${tenant.id}/leads/${rows[0]!.id}/messages`;
    const refused = await get(messages, token);
    expect(refused.status).toBe(404);
    expect(await eventsOf(refused.sent)).toEqual(['authz.denied']);
    await owner.query('update sessions set revoked_at = now() where user_id = $1', [salesId]);
    const ended = await get(messages, token);
    expect(ended.status).toBe(401);
    expect(await eventsOf(ended.sent)).toEqual([]);
  });

  it('records no denial for a caller whose session has ended', async () => {
    await setRole('dealer_sales');
    try {
      const token = await knownSession();
      expect((await get(auditEvents(), token)).status).toBe(403);
      await owner.query('update sessions set revoked_at = now() where user_id = $1', [adminId]);
      const refused = await get(auditEvents(), token);
      expect(refused.status).toBe(401);
      expect(await eventsOf(refused.sent)).toEqual([]);
    } finally {
      await setRole('dealer_admin');
    }
  });
});
