import { Pool } from 'pg';
import { AuditLog, AuditSealer } from '@forecourt/audit';
import { Sessions } from '@forecourt/auth';
import { SettableClock } from '@forecourt/core';
import { LifecycleSchedule } from '@forecourt/lifecycle';
import {
  createGroup,
  type Group,
  seedTenant,
  startTestApi,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * Three API instances on one database, taken in turn as a round-robin balancer would: what one
 * instance decides (a revoked session, a rate limit, a scheduled run, a change to a lead) holds on
 * the others at once, because everything they share lives in PostgreSQL.
 */

const ADMIN = 'admin@three.test';
const clock = new SettableClock(new Date('2027-05-01T08:00:00Z'));
let instances: TestApi[];
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;
let turn = 0;
/** The next instance, round-robin. */
const next = (): TestApi => instances[turn++ % instances.length]!;

beforeAll(async () => {
  mail = temporaryMailDir();
  const first = await startTestApi({ env: { MAIL_DIR: mail.path }, clock });
  instances = [
    first,
    await startTestApi({ shareDatabaseWith: first, env: { MAIL_DIR: mail.path }, clock }),
    await startTestApi({ shareDatabaseWith: first, env: { MAIL_DIR: mail.path }, clock }),
  ];
  admin = new Pool({ connectionString: first.db.adminUrl, max: 2 });
  g = await createGroup(first, mail.path, {
    slug: 'three',
    stores: ['North'],
    members: [{ email: 'manager@three.test', role: 'dealer_manager', stores: ['North'] }],
  });
});

afterAll(async () => {
  await admin.end();
  for (const instance of [...instances].reverse()) await instance.close();
  mail.remove();
});

async function call(
  instance: TestApi,
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  token: string,
  options: { payload?: object; headers?: Record<string, string>; remoteAddress?: string } = {},
) {
  const response = await instance.app.inject({
    method,
    url,
    payload: options.payload,
    remoteAddress: options.remoteAddress,
    headers: { authorization: `Bearer ${token}`, ...options.headers },
  });
  return {
    status: response.statusCode,
    body: response.body ? response.json<Record<string, unknown>>() : {},
  };
}

describe('three instances behind a round-robin', () => {
  it('a session revoked on one is refused on every other at once', async () => {
    const userId = g.userIds['manager@three.test']!;
    const { token } = await instances[0]!.app.get(Sessions).issue(userId);
    for (const instance of instances)
      expect((await call(instance, 'GET', '/v1/auth/me', token)).status).toBe(200);
    const revoked = await call(
      instances[1]!,
      'POST',
      `/v1/tenants/${g.tenantId}/users/${userId}/revoke-sessions`,
      g.tokens[ADMIN]!,
    );
    expect(revoked.status).toBe(204);
    for (const instance of [instances[2]!, instances[0]!, instances[1]!]) {
      expect((await call(instance, 'GET', '/v1/auth/me', token)).status).toBe(401);
    }
  });

  it('share the sign-in rate limit: ten failures spread over three, the eleventh refused on any', async () => {
    const ip = '198.51.100.77';
    const login = (instance: TestApi, email: string) =>
      instance.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: 'not the password at all' },
        remoteAddress: ip,
      });
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await login(next(), `nobody${attempt}@three.test`)).statusCode).toBe(401);
    }
    for (const instance of instances)
      expect((await login(instance, 'nobody@three.test')).statusCode).toBe(429);
  });

  it('two instances change one lead against the same version: exactly one change lands', async () => {
    const lead = await call(instances[0]!, 'POST', `/v1/tenants/${g.tenantId}/leads`, g.tokens[ADMIN]!, {
      payload: { storeId: g.storeIds.North, customerId: await customer(), source: 'walk-in' },
    });
    expect(lead.status).toBe(201);
    const url = `/v1/tenants/${g.tenantId}/leads/${String(lead.body.id)}`;
    const [a, b] = await Promise.all([
      call(instances[1]!, 'PATCH', url, g.tokens[ADMIN]!, {
        payload: { status: 'contacted' },
        headers: { 'if-match': '"1"' },
      }),
      call(instances[2]!, 'PATCH', url, g.tokens[ADMIN]!, {
        payload: { status: 'lost', lostReason: 'bought elsewhere' },
        headers: { 'if-match': '"1"' },
      }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const final = await call(instances[0]!, 'GET', url, g.tokens[ADMIN]!);
    expect(final.body.version).toBe(2);
    expect(final.body.status).toBe(a.status === 200 ? 'contacted' : 'lost');
  });

  it('the tenant lifecycle run, fired on all three at once, runs once: one deletion, one certificate', async () => {
    const runtime = new Pool({ connectionString: instances[0]!.db.runtimeUrl, max: 1 });
    const tenant = await seedTenant(runtime, 'three-gone').finally(() => runtime.end());
    await admin.query('update tenant_keys set retired_at = now() where tenant_id = $1', [tenant.id]);
    await admin.query(`update tenants set status = 'cancelled', cancelled_at = $2 where id = $1`, [
      tenant.id,
      new Date(clock.now().getTime() - 31 * 86_400_000),
    ]);
    const reports = await Promise.all(instances.map((instance) => instance.app.get(LifecycleSchedule).run()));
    const deleted = reports.flatMap((report) => report.deleted);
    expect(deleted).toEqual([tenant.id]);
    const { rows } = await admin.query<{ action: string }>(
      `select action from audit_events where tenant_id = '00000000-0000-0000-0000-000000000000' and subject_id = $1`,
      [tenant.id],
    );
    expect(rows.map((row) => row.action).sort()).toEqual(['tenant.deleted', 'tenant.deletion_started']);
  });

  it('audit sealing on all three at once leaves one unbroken chain', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await call(next(), 'GET', `/v1/tenants/${g.tenantId}/stores`, g.tokens[ADMIN]!)).status).toBe(
        200,
      );
    }
    await Promise.all(instances.map((instance) => instance.app.get(AuditSealer).sealAll()));
    const { rows } = await admin.query<{ unsealed: number; duplicates: number }>(
      `select count(*) filter (where seq is null)::int as unsealed,
              (count(seq) - count(distinct seq))::int as duplicates
         from audit_events where tenant_id = $1`,
      [g.tenantId],
    );
    expect(rows[0]).toEqual({ unsealed: 0, duplicates: 0 });
    expect(await instances[2]!.app.get(AuditLog).verify(g.tenantId)).toMatchObject({ ok: true });
  });
});

let customerId: string | undefined;
async function customer(): Promise<string> {
  if (!customerId) {
    const created = await call(
      instances[0]!,
      'POST',
      `/v1/tenants/${g.tenantId}/customers`,
      g.tokens[ADMIN]!,
      {
        payload: { storeId: g.storeIds.North, name: 'Three Customer' },
      },
    );
    customerId = String(created.body.id);
  }
  return customerId;
}
