import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { PlatformOwners } from '@forecourt/auth';
import { invitationTokenFor, mailsIn, SignInClient, startTestApi, TestApi } from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';
const USER_AGENT = 'forecourt-audit-e2e/1.0';
const PLATFORM = '00000000-0000-0000-0000-000000000000';
const REPO = join(__dirname, '..', '..');

let api: TestApi;
let client: SignInClient;
let admin: Pool;
let mailDir: string;
let ownerToken: string;
let ownerId: string;

interface Response {
  status: number;
  requestId: string;
  body: Record<string, unknown>;
  text: string;
}

interface AuditEventView {
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string;
  action: string;
  subjectType: string;
  subjectId: string | null;
  subjectIds: string[] | null;
  storeId: string | null;
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  outcome: 'allowed' | 'denied';
  reason: string | null;
  changedFields: string[] | null;
  prevHash: string;
  hash: string;
}

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  token?: string,
  payload?: object,
) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { 'user-agent': USER_AGENT, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const text = response.body;
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // an export: not JSON
  }
  return { status: response.statusCode, requestId: String(response.headers['x-request-id']), body, text };
}

/** The events a request left in a chain, read the way an auditor would: by its x-request-id. */
async function eventsOf(
  response: Response,
  chain: { tenantId: string; token: string },
): Promise<AuditEventView[]> {
  const path =
    chain.tenantId === PLATFORM ? '/v1/platform/audit-events' : `/v1/tenants/${chain.tenantId}/audit-events`;
  const listed = await call(
    'GET',
    `${path}?requestId=${encodeURIComponent(response.requestId)}`,
    chain.token,
  );
  expect(listed.status).toBe(200);
  return (listed.body.data as AuditEventView[]).reverse();
}

async function acceptAndSignIn(email: string, name: string) {
  const accepted = await call('POST', '/v1/auth/invitations/accept', undefined, {
    token: invitationTokenFor(mailDir, email),
    name,
    password: PASSWORD,
  });
  expect(accepted.status).toBe(200);
  const session = await client.enroll(email, PASSWORD);
  const me = await client.get('/v1/auth/me', session.token);
  return { ...session, userId: (me.body.user as { id: string }).id, accepted };
}

interface Group {
  tenantId: string;
  token: string;
  adminId: string;
  created: Response;
  accepted: Response;
}

async function newGroup(slug: string): Promise<Group> {
  const email = `admin@${slug}.test`;
  const created = await call('POST', '/v1/platform/tenants', ownerToken, {
    name: `${slug} Group`,
    slug,
    adminEmail: email,
  });
  expect(created.status).toBe(201);
  const signedIn = await acceptAndSignIn(email, `${slug} Admin`);
  return {
    tenantId: created.body.id as string,
    token: signedIn.token,
    adminId: signedIn.userId,
    created,
    accepted: signedIn.accepted,
  };
}

/** Every event carries who, from where and under which request. */
function expectContext(event: AuditEventView, response: Response, actorId: string | null) {
  expect(event).toMatchObject({ requestId: response.requestId, userAgent: USER_AGENT, actorId });
  expect(event.ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
  expect(event.seq).toBeGreaterThan(0);
  expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
}

let group: Group;
let other: Group;

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-mail-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir, AUTH_FAILED_LIMIT: '1000' } });
  client = new SignInClient(api.app);
  admin = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  ownerId = await api.app.get(PlatformOwners).create('owner@audit.test', 'Olive Owner', PASSWORD);
  ownerToken = (await client.enroll('owner@audit.test', PASSWORD)).token;
  group = await newGroup('harbour');
  other = await newGroup('summit');
});

afterAll(async () => {
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('every kind of event is recorded, with its request id', () => {
  it('tenant creation and the first invitation, in the new tenant chain', async () => {
    const events = await eventsOf(group.created, group);
    expect(events.map((event) => event.action)).toEqual(['tenant.create', 'invitation.create']);
    expect(events[0]).toMatchObject({
      actorRole: 'platform_owner',
      subjectType: 'Tenant',
      subjectId: group.tenantId,
    });
    for (const event of events) expectContext(event, group.created, ownerId);
  });

  it('accepting an invitation: the invitation and the membership', async () => {
    const events = await eventsOf(group.accepted, group);
    expect(events.map((event) => `${event.action}:${event.actorRole}`)).toEqual([
      'invitation.accept:dealer_admin',
      'membership.create:dealer_admin',
    ]);
    for (const event of events) expectContext(event, group.accepted, group.adminId);
  });

  it('sign-in events, failed or not, in the chain of each tenant the person belongs to', async () => {
    const failed = await call('POST', '/v1/auth/login', undefined, {
      email: 'admin@harbour.test',
      password: 'wrong!',
    });
    expect(failed.status).toBe(401);
    const login = await call('POST', '/v1/auth/login', undefined, {
      email: 'admin@harbour.test',
      password: PASSWORD,
    });
    const wrongCode = await call('POST', '/v1/auth/mfa/verify', undefined, {
      mfaToken: login.body.mfaToken,
      code: '000000',
    });
    expect(wrongCode.status).toBe(401);
    const [failedEvent] = await eventsOf(failed, group);
    expect(failedEvent).toMatchObject({
      action: 'auth.login.failed',
      outcome: 'denied',
      reason: 'wrong password',
      actorRole: 'dealer_admin',
      subjectType: 'User',
      subjectId: group.adminId,
    });
    expectContext(failedEvent!, failed, group.adminId);
    expect((await eventsOf(login, group)).map((event) => event.action)).toEqual(['auth.login.succeeded']);
    expect((await eventsOf(wrongCode, group)).map((event) => `${event.action}:${event.outcome}`)).toEqual([
      'auth.mfa.verify.failed:denied',
    ]);
    // Nobody else's chain holds them.
    expect(await eventsOf(failed, other)).toEqual([]);
  });

  it('MFA enrolment, activation, verification, a recovery code and logout', async () => {
    await call('POST', '/v1/tenants/' + group.tenantId + '/invitations', group.token, {
      email: 'mia@harbour.test',
      role: 'dealer_admin',
    });
    await call('POST', '/v1/auth/invitations/accept', undefined, {
      token: invitationTokenFor(mailDir, 'mia@harbour.test'),
      name: 'Mia',
      password: PASSWORD,
    });
    const login = await call('POST', '/v1/auth/login', undefined, {
      email: 'mia@harbour.test',
      password: PASSWORD,
    });
    const enroll = await call('POST', '/v1/auth/mfa/enroll', undefined, { mfaToken: login.body.mfaToken });
    const verify = await call('POST', '/v1/auth/mfa/verify', undefined, {
      mfaToken: login.body.mfaToken,
      code: SignInClient.code(enroll.body.secret as string),
    });
    expect(verify.status).toBe(200);
    const recoveryLogin = await call('POST', '/v1/auth/login', undefined, {
      email: 'mia@harbour.test',
      password: PASSWORD,
    });
    const recovery = await call('POST', '/v1/auth/mfa/verify', undefined, {
      mfaToken: recoveryLogin.body.mfaToken,
      code: (verify.body.recoveryCodes as string[])[0],
    });
    expect(recovery.status).toBe(200);
    const logout = await call('POST', '/v1/auth/logout', recovery.body.token as string);
    expect(logout.status).toBe(204);

    expect((await eventsOf(enroll, group)).map((event) => event.action)).toEqual([
      'auth.mfa.enroll.succeeded',
    ]);
    expect((await eventsOf(verify, group)).map((event) => event.action)).toEqual([
      'auth.mfa.activated',
      'auth.mfa.verify.succeeded',
    ]);
    expect((await eventsOf(recovery, group)).map((event) => event.action)).toEqual([
      'auth.recovery_code.used',
    ]);
    const [loggedOut] = await eventsOf(logout, group);
    expect(loggedOut).toMatchObject({ action: 'auth.logout', actorRole: 'dealer_admin' });
    expectContext(loggedOut!, logout, loggedOut!.actorId);
  });

  it('an unknown e-mail signing in goes to the platform chain, as anonymous', async () => {
    const failed = await call('POST', '/v1/auth/login', undefined, {
      email: 'nobody@nowhere.test',
      password: 'x',
    });
    expect(failed.status).toBe(401);
    const [event] = await eventsOf(failed, { tenantId: PLATFORM, token: ownerToken });
    expect(event).toMatchObject({
      action: 'auth.login.failed',
      actorRole: 'anonymous',
      reason: 'unknown email',
    });
    expectContext(event!, failed, null);
    expect(JSON.stringify(event)).not.toContain('nobody@nowhere.test');
  });

  it('stores, invitations, role changes (field names only), session revocation and removal', async () => {
    const store = await call('POST', `/v1/tenants/${group.tenantId}/stores`, group.token, { name: 'North' });
    const [created] = await eventsOf(store, group);
    expect(created).toMatchObject({
      action: 'store.create',
      storeId: store.body.id,
      actorRole: 'dealer_admin',
    });
    expectContext(created!, store, group.adminId);

    const invite = await call('POST', `/v1/tenants/${group.tenantId}/invitations`, group.token, {
      email: 'sam@harbour.test',
      role: 'dealer_sales',
      storeIds: [store.body.id],
    });
    expect((await eventsOf(invite, group)).map((event) => event.action)).toEqual(['invitation.create']);
    const sam = await acceptAndSignIn('sam@harbour.test', 'Sam Seller');

    const patched = await call('PATCH', `/v1/tenants/${group.tenantId}/users/${sam.userId}`, group.token, {
      role: 'dealer_manager',
    });
    const [updated] = await eventsOf(patched, group);
    expect(updated).toMatchObject({
      action: 'membership.update',
      subjectId: sam.userId,
      changedFields: ['role'],
    });
    expect(JSON.stringify(updated)).not.toContain('dealer_manager');

    const revoked = await call(
      'POST',
      `/v1/tenants/${group.tenantId}/users/${sam.userId}/revoke-sessions`,
      group.token,
    );
    expect((await eventsOf(revoked, group)).map((event) => `${event.action}:${event.subjectId}`)).toEqual([
      `session.revoke:${sam.userId}`,
    ]);
    const removed = await call('DELETE', `/v1/tenants/${group.tenantId}/users/${sam.userId}`, group.token);
    expect((await eventsOf(removed, group)).map((event) => event.action)).toEqual(['membership.delete']);
  });

  it('reads of personal data: a list names every id it returned, a read its subject', async () => {
    const list = await call('GET', `/v1/tenants/${group.tenantId}/users`, group.token);
    const ids = (list.body.data as { id: string }[]).map((user) => user.id);
    expect(ids.length).toBeGreaterThan(1);
    const [listed] = await eventsOf(list, group);
    expect(listed).toMatchObject({ action: 'user.list', subjectType: 'User' });
    expect([...listed!.subjectIds!].sort()).toEqual([...ids].sort());
    expectContext(listed!, list, group.adminId);

    const read = await call('GET', `/v1/tenants/${group.tenantId}/users/${group.adminId}`, group.token);
    expect(read.status).toBe(200);
    expect((await eventsOf(read, group)).map((event) => `${event.action}:${event.subjectId}`)).toEqual([
      `user.read:${group.adminId}`,
    ]);
    // A list can be searched by any id it returned.
    const bySubject = await call(
      'GET',
      `/v1/tenants/${group.tenantId}/audit-events?subjectId=${ids[0]}&action=user.list`,
      group.token,
    );
    expect((bySubject.body.data as AuditEventView[]).map((event) => event.requestId)).toContain(
      list.requestId,
    );
  });

  it('platform staff invitations, in the platform chain', async () => {
    const invited = await call('POST', '/v1/platform/staff/invitations', ownerToken, {
      email: 'sue@forecourt.test',
      role: 'platform_support',
    });
    expect(invited.status).toBe(201);
    const [event] = await eventsOf(invited, { tenantId: PLATFORM, token: ownerToken });
    expect(event).toMatchObject({ action: 'platform_invitation.create', actorRole: 'platform_owner' });
    expectContext(event!, invited, ownerId);

    const accepted = await call('POST', '/v1/auth/invitations/accept', undefined, {
      token: invitationTokenFor(mailDir, 'sue@forecourt.test'),
      name: 'Sue Support',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(200);
    const joined = await eventsOf(accepted, { tenantId: PLATFORM, token: ownerToken });
    expect(joined.map((entry) => `${entry.action}:${entry.actorRole}`)).toEqual([
      'platform_invitation.accept:platform_support',
      'auth.platform_role.granted:platform_support',
    ]);
    expectContext(joined[1]!, accepted, joined[1]!.subjectId);
  });

  it('denials: a role that may not, in its tenant chain; a stranger to the tenant, in the platform chain', async () => {
    const denied = await call(
      'GET',
      `/v1/tenants/${group.tenantId}/audit-events`,
      (await salesOf(group)).token,
    );
    expect(denied.status).toBe(403);
    const [event] = await eventsOf(denied, group);
    expect(event).toMatchObject({
      action: 'authz.denied',
      outcome: 'denied',
      actorRole: 'dealer_sales',
      subjectType: 'AuditEvent',
    });

    const stranger = await call('GET', `/v1/tenants/${group.tenantId}/users`, other.token);
    expect(stranger.status).toBe(404);
    expect(await eventsOf(stranger, group)).toEqual([]);
    const [probe] = await eventsOf(stranger, { tenantId: PLATFORM, token: ownerToken });
    expect(probe).toMatchObject({
      action: 'authz.denied',
      subjectId: group.tenantId,
      actorId: other.adminId,
    });
  });

  it('exporting the trail is itself an event', async () => {
    const exported = await call('GET', `/v1/tenants/${group.tenantId}/audit-events/export`, group.token);
    expect(exported.status).toBe(200);
    expect((await eventsOf(exported, group)).map((event) => event.action)).toEqual(['audit_event.export']);
  });
});

/** A dealer_sales member of `tenant`, signed in. */
async function salesOf(tenant: Group): Promise<{ token: string }> {
  const email = `sales-${Math.random().toString(36).slice(2, 8)}@${tenant.tenantId.slice(-6)}.test`;
  const invited = await call('POST', `/v1/tenants/${tenant.tenantId}/invitations`, tenant.token, {
    email,
    role: 'dealer_sales',
    allStores: true,
  });
  expect(invited.status).toBe(201);
  return acceptAndSignIn(email, 'Sal Sales');
}

describe('nothing half-done', () => {
  it('a request that fails after its write leaves neither the write nor its event', async () => {
    // Make the event insert fail: the store row is already written in the same transaction.
    await admin.query(`
      create function pg_temp_fail_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit storage failed'; end $$`);
    await admin.query(`
      create trigger fail_store_events before insert on audit_events for each row
        when (new.action = 'store.create') execute function pg_temp_fail_audit()`);
    let failed: Response;
    try {
      failed = await call('POST', `/v1/tenants/${group.tenantId}/stores`, group.token, { name: 'Never' });
    } finally {
      await admin.query('drop trigger fail_store_events on audit_events');
      await admin.query('drop function pg_temp_fail_audit()');
    }
    expect(failed.status).toBe(500);
    const left = await admin.query(
      `select (select count(*) from stores where tenant_id = $1 and name = 'Never')::int as stores,
              (select count(*) from audit_events where request_id = $2)::int as events`,
      [group.tenantId, failed.requestId],
    );
    expect(left.rows[0]).toEqual({ stores: 0, events: 0 });
  });
});

describe('reading, verifying and exporting a chain', () => {
  it('pages newest first with a cursor, and filters by action and actor', async () => {
    const first = await call('GET', `/v1/tenants/${group.tenantId}/audit-events?limit=3`, group.token);
    const page = first.body.data as AuditEventView[];
    expect(page).toHaveLength(3);
    expect(page[0]!.seq).toBeGreaterThan(page[2]!.seq);
    const next = await call(
      'GET',
      `/v1/tenants/${group.tenantId}/audit-events?limit=3&cursor=${first.body.nextCursor as string}`,
      group.token,
    );
    expect((next.body.data as AuditEventView[])[0]!.seq).toBe(page[2]!.seq - 1);
    const byActor = await call(
      'GET',
      `/v1/tenants/${group.tenantId}/audit-events?actorId=${ownerId}&action=tenant.create`,
      group.token,
    );
    expect((byActor.body.data as AuditEventView[]).map((event) => event.action)).toEqual(['tenant.create']);
    const bad = await call('GET', `/v1/tenants/${group.tenantId}/audit-events?cursor=nonsense`, group.token);
    expect(bad.status).toBe(400);
    const badActor = await call(
      'GET',
      `/v1/tenants/${group.tenantId}/audit-events?actorId=1;drop`,
      group.token,
    );
    expect(badActor.status).toBe(400);
  });

  it('verifies, signs a checkpoint on demand, and finds a change made behind its back', async () => {
    expect(
      (await call('GET', `/v1/tenants/${other.tenantId}/audit-events/verify`, other.token)).body,
    ).toEqual({
      ok: true,
      verifiedThroughSeq: expect.any(Number) as number,
      firstInvalidSeq: null,
      reason: null,
      checkpointsChecked: 0,
    });
    const mailsBefore = mailsIn(mailDir).length;
    const checkpoint = await call(
      'POST',
      `/v1/tenants/${other.tenantId}/audit-events/checkpoints`,
      other.token,
      {
        mail: true,
      },
    );
    expect(checkpoint.status).toBe(200);
    expect(checkpoint.body.mailedTo).toBe(1);
    const mails = mailsIn(mailDir).slice(mailsBefore);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(/^To: admin@summit\.test/m);
    expect(mails[0]).toContain(`forecourt/audit/${other.tenantId}`);
    expect(checkpoint.body.note).toMatch(
      new RegExp(`^forecourt/audit/${other.tenantId}\\n${checkpoint.body.seq as number}\\n`),
    );
    const listed = await call('GET', `/v1/tenants/${other.tenantId}/audit-events/checkpoints`, other.token);
    expect((listed.body.data as { seq: number }[])[0]!.seq).toBe(checkpoint.body.seq);

    await admin.query('alter table audit_events disable trigger user');
    await admin.query(`update audit_events set ip = '192.0.2.66' where tenant_id = $1 and seq = 2`, [
      other.tenantId,
    ]);
    await admin.query('alter table audit_events enable trigger user');
    expect(
      (await call('GET', `/v1/tenants/${other.tenantId}/audit-events/verify`, other.token)).body,
    ).toMatchObject({
      ok: false,
      firstInvalidSeq: 2,
    });
  });

  it('the CLI verifies every chain in the database, and names a broken one', async () => {
    const env = { DATABASE_URL: api.db.runtimeUrl, MIGRATION_DATABASE_URL: api.db.ownerUrl };
    const all = await cli(['audit:verify'], env);
    expect(all.stdout).toContain(`${group.tenantId}: ok through`);
    expect(all.stdout).toContain(`${PLATFORM}: ok through`);
    // `other`'s chain was changed behind its back above.
    expect(all.stdout).toMatch(new RegExp(`^${other.tenantId}: BROKEN at 2: event 2 was changed`, 'm'));
    expect(all).toMatchObject({ code: 1 });
    expect(await cli(['audit:verify', '--tenant', group.tenantId], env)).toMatchObject({ code: 0 });
    expect(await cli(['audit:verify', '--tenant', 'harbour'], env)).toMatchObject({
      code: 1,
      stderr: '--tenant must be a tenant id (a UUID)\n',
    });
  });

  it('exports a chain that the CLI verifies offline with the published key, and catches an edited export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forecourt-export-'));
    try {
      await call('POST', `/v1/tenants/${group.tenantId}/audit-events/checkpoints`, group.token);
      const keys = await call('GET', '/v1/audit/keys');
      expect(keys.status).toBe(200);
      const keyFile = join(dir, 'keys.txt');
      writeFileSync(
        keyFile,
        (keys.body.keys as { verifierKey: string }[]).map((key) => key.verifierKey).join('\n'),
      );
      for (const format of ['jsonl', 'csv'] as const) {
        const exported = await call(
          'GET',
          `/v1/tenants/${group.tenantId}/audit-events/export?format=${format}`,
          group.token,
        );
        expect(exported.status).toBe(200);
        const file = join(dir, `trail.${format}`);
        writeFileSync(file, exported.text);
        const intact = await cli(['audit:verify', '--file', file, '--public-key', keyFile]);
        expect(intact).toMatchObject({ code: 0 });
        expect(intact.stdout).toMatch(new RegExp(`^${group.tenantId}: ok through \\d+, 1 checkpoints\\n$`));

        const edited = join(dir, `edited.${format}`);
        writeFileSync(
          edited,
          exported.text
            .replace('"store.create"', '"store.deleted"')
            .replace(',store.create,', ',store.deleted,'),
        );
        const broken = await cli(['audit:verify', '--file', edited, '--public-key', keyFile]);
        expect(broken.code).toBe(1);
        expect(broken.stdout).toMatch(
          new RegExp(`^${group.tenantId}: BROKEN at \\d+: event \\d+ was changed after it was sealed\\n$`),
        );
      }
      const unknownKey = join(dir, 'other-key.txt');
      writeFileSync(unknownKey, 'forecourt-audit+00000000+AQ' + 'A'.repeat(42) + '=\n');
      expect(
        (await cli(['audit:verify', '--file', join(dir, 'trail.jsonl'), '--public-key', unknownKey])).code,
      ).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tenants apart', () => {
  it("tenant A's admin can neither read, verify nor export tenant B's chain", async () => {
    for (const path of [
      'audit-events',
      'audit-events/verify',
      'audit-events/export',
      'audit-events/checkpoints',
    ]) {
      const response = await call('GET', `/v1/tenants/${other.tenantId}/${path}`, group.token);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.text).not.toContain(other.adminId);
    }
  });

  it('a platform owner reads the platform chain but no tenant chain by that route', async () => {
    expect((await call('GET', '/v1/platform/audit-events', ownerToken)).status).toBe(200);
    expect((await call('GET', '/v1/platform/audit-events', group.token)).status).toBe(403);
    expect((await call('GET', `/v1/tenants/${group.tenantId}/audit-events`, ownerToken)).status).toBe(404);
  });
});

const execFileAsync = promisify(execFile);

/** The operator CLI, compiled, against this test's data directory. */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: REPO,
      env: { ...process.env, DATA_DIR: api.dataDir, MASTER_KEY: api.masterKey, LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}
