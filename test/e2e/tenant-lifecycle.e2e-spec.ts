import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { verifierKeys } from '@forecourt/audit';
import { PlatformOwners, Sessions } from '@forecourt/auth';
import { SettableClock } from '@forecourt/core';
import { DecryptionError, TenantKeys } from '@forecourt/crypto';
import { TenantTransaction } from '@forecourt/database';
import {
  type DeletionCertificate,
  LifecycleSchedule,
  TenantDeletions,
  verifyDeletionCertificate,
} from '@forecourt/lifecycle';
import { ObjectStore } from '@forecourt/storage';
import { seedTenant, type SeededTenant, startTestApi, TestApi } from '@forecourt/test-harness';

const DAY = 86_400_000;
const clock = new SettableClock(new Date('2027-03-01T09:00:00Z'));
let api: TestApi;
let admin: Pool;
let runtime: Pool;
let mailDir: string;
let ownerToken: string;

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-lifecycle-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir }, clock });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 2 });
  const ownerId = await api.app
    .get(PlatformOwners)
    .create('owner@lifecycle.test', 'Olive Owner', 'correct horse battery staple');
  ownerToken = (await api.app.get(Sessions).issue(ownerId)).token;
});

afterAll(async () => {
  await runtime.end();
  await admin.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST', url: string, token: string, payload?: object) {
  const response = await api.app.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

/** A seeded tenant whose data key is a real one (the seed's stands in for a key, it opens nothing). */
async function seedLiveTenant(slug: string): Promise<SeededTenant> {
  const tenant = await seedTenant(runtime, slug);
  await admin.query('update tenant_keys set retired_at = now() where tenant_id = $1', [tenant.id]);
  return tenant;
}

const adminTokenOf = async (tenant: SeededTenant) =>
  (await api.app.get(Sessions).issue(tenant.userIds[0]!)).token;

/** Every table with a tenant_id column, from the catalog, and its rows of `tenantId`. */
async function rowsPerTable(tenantId: string): Promise<Record<string, number>> {
  const { rows: tables } = await admin.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
       join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
      where c.relkind = 'r' order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from "${name}" where tenant_id = $1`,
      [tenantId],
    );
    counts[name] = rows[0]!.n;
  }
  return counts;
}

async function sealFor(tenantId: string, secret: string): Promise<Buffer> {
  return api.app
    .get(TenantTransaction)
    .run({ tenantId, stores: 'all' }, (tx) =>
      api.app.get(TenantKeys).seal(tx, Buffer.from(secret), 'lifecycle-test'),
    );
}

async function openFor(tenantId: string, sealed: Buffer): Promise<string> {
  const opened = await api.app
    .get(TenantTransaction)
    .run({ tenantId, stores: 'all' }, (tx) => api.app.get(TenantKeys).open(tx, sealed, 'lifecycle-test'));
  return opened.toString('utf8');
}

async function platformEntry(tenantId: string): Promise<Record<string, unknown>> {
  const listed = await call('GET', '/v1/platform/tenants?limit=200', ownerToken);
  return (listed.body.data as Record<string, unknown>[]).find((entry) => entry.id === tenantId)!;
}

describe('cancellation → access until the paid period ends → grace → deletion', () => {
  let tenant: SeededTenant;
  let other: SeededTenant;
  let adminToken: string;
  let periodEnd: Date;

  beforeAll(async () => {
    tenant = await seedLiveTenant('leaving');
    other = await seedLiveTenant('staying');
    adminToken = await adminTokenOf(tenant);
    periodEnd = new Date(clock.now().getTime() + 10 * DAY);
    await admin.query('update tenants set billing_period_end = $2 where id = $1', [tenant.id, periodEnd]);
  });

  const createStore = () =>
    call('POST', `/v1/tenants/${tenant.id}/stores`, adminToken, {
      name: `Store ${Math.random().toString(36).slice(2, 8)}`,
    });

  it('a cancellation keeps full access to the end of the paid period, then 30 days of grace', async () => {
    const cancelled = await call('POST', `/v1/tenants/${tenant.id}/cancel`, adminToken);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: tenant.id,
      status: 'cancelled',
      accessUntil: periodEnd.toISOString(),
      deleteAfter: new Date(periodEnd.getTime() + 30 * DAY).toISOString(),
    });
    // Asking again answers the same standing cancellation, and records nothing new.
    expect((await call('POST', `/v1/tenants/${tenant.id}/cancel`, adminToken)).body).toEqual(cancelled.body);
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from audit_events where tenant_id = $1 and action = 'tenant.cancel'`,
      [tenant.id],
    );
    expect(rows[0]!.n).toBe(1);

    expect((await createStore()).status).toBe(201);
    expect(await platformEntry(tenant.id)).toMatchObject({
      status: 'cancelled',
      accessUntil: periodEnd.toISOString(),
      deleteAfter: new Date(periodEnd.getTime() + 30 * DAY).toISOString(),
    });
  });

  it('in grace, writes are refused with a reason while sign-in, reads and the platform view go on', async () => {
    clock.set(new Date(periodEnd.getTime() + 1_000));
    const refused = await createStore();
    expect(refused.status).toBe(403);
    expect(String(refused.body.type)).toContain('access-tenant-in-grace');
    expect(refused.body.detail).toContain('read-only');
    expect(refused.body.detail).toContain(new Date(periodEnd.getTime() + 30 * DAY).toISOString());
    expect((await call('GET', `/v1/tenants/${tenant.id}/stores`, adminToken)).status).toBe(200);
    expect((await call('GET', '/v1/auth/me', adminToken)).status).toBe(200);
    // Taking the data out is what grace is for.
    const exported = await call('POST', `/v1/tenants/${tenant.id}/exports`, adminToken, { format: 'jsonl' });
    expect(exported).toMatchObject({ status: 202, body: { status: 'queued' } });
    expect((await platformEntry(tenant.id)).status).toBe('grace');

    // The daily run writes the grace into the stored status too; the other tenant is untouched.
    const report = await api.app.get(LifecycleSchedule).run();
    expect(report).toMatchObject({ ran: true, enteredGrace: 1, deleted: [], failed: [] });
    const { rows } = await admin.query<{ id: string; status: string }>(
      'select id, status from tenants where id = any($1) order by id',
      [[tenant.id, other.id]],
    );
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
      [tenant.id]: 'grace',
      [other.id]: 'active',
    });
  });

  it('a platform owner restores the tenant during grace: full access again; others may not', async () => {
    expect((await call('POST', `/v1/platform/tenants/${tenant.id}/restore`, adminToken)).status).toBe(403);
    const restored = await call('POST', `/v1/platform/tenants/${tenant.id}/restore`, ownerToken);
    expect(restored).toMatchObject({
      status: 200,
      body: { id: tenant.id, status: 'active', accessUntil: null, deleteAfter: null, cancelledAt: null },
    });
    expect((await createStore()).status).toBe(201);
    expect((await call('POST', `/v1/platform/tenants/${tenant.id}/restore`, ownerToken)).status).toBe(409);
  });

  it('after the grace, restore is refused and the daily run deletes every trace: rows, objects, key', async () => {
    // Cancelled again, now past its paid period: access ends at once, grace runs 30 days.
    const cancelled = await call('POST', `/v1/tenants/${tenant.id}/cancel`, adminToken);
    expect(cancelled.body).toMatchObject({ status: 'grace', accessUntil: clock.now().toISOString() });
    const sealed = await sealFor(tenant.id, 'AB123456C');
    expect(await openFor(tenant.id, sealed)).toBe('AB123456C');
    const objects = api.app.get(ObjectStore);
    await objects.put({ tenantId: tenant.id }, 'media/photo.jpg', Buffer.alloc(2048, 7));
    await objects.put({ tenantId: tenant.id }, 'documents/bill-of-sale.pdf', 'signed');
    await objects.put({ tenantId: other.id }, 'media/photo.jpg', 'kept');

    clock.advance(30 * DAY + 1_000);
    const late = await call('POST', `/v1/platform/tenants/${tenant.id}/restore`, ownerToken);
    expect(late.status).toBe(409);
    expect(String(late.body.type)).toContain('lifecycle-grace-over');

    // A backup taken before the deletion, still on disk: the certificate says until when it holds the tenant.
    const backupAt = new Date(clock.now().getTime() - 2 * 3_600_000);
    await admin.query(
      `insert into backups (id, created_at, schema_version, status, local_path) values (gen_random_uuid(), $1, 'x', 'completed', '/b')`,
      [backupAt],
    );
    const before = await rowsPerTable(tenant.id);
    const otherBefore = await rowsPerTable(other.id);
    expect(Object.values(before).filter((n) => n > 0).length).toBeGreaterThan(10);
    const report = await api.app.get(LifecycleSchedule).run();
    expect(report).toMatchObject({ ran: true, deleted: [tenant.id], failed: [] });

    const after = await rowsPerTable(tenant.id);
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
    expect(await rowsPerTable(other.id)).toEqual(otherBefore);
    expect(await objects.countOfTenant(tenant.id)).toBe(0);
    expect(await objects.countOfTenant(other.id)).toBe(1);
    await expect(openFor(tenant.id, sealed)).rejects.toBeInstanceOf(DecryptionError);
    // Its people went with it: they belonged to no other tenant.
    const people = await admin.query('select 1 from users where id = any($1)', [tenant.userIds]);
    expect(people.rowCount).toBe(0);
    // Its members are strangers now; the platform keeps a tombstone without its name.
    expect((await call('GET', `/v1/tenants/${tenant.id}/stores`, adminToken)).status).toBe(401);
    expect(await platformEntry(tenant.id)).toMatchObject({ status: 'deleted', name: 'deleted tenant' });

    const record = await call('GET', `/v1/platform/tenants/${tenant.id}/deletion`, ownerToken);
    expect(record.status).toBe(200);
    const certificate = record.body.certificate as DeletionCertificate;
    // The same run first moved the tenant into grace, one more event in its trail.
    const deletedRows = { ...before, audit_events: before.audit_events! + 1 };
    expect(certificate).toMatchObject({
      tenantId: tenant.id,
      reason: 'grace ended',
      requestedBy: null,
      rows: deletedRows,
      rowTotal: Object.values(deletedRows).reduce((a, b) => a + b, 0),
      objects: 2,
      dataKeysDestroyed: before.tenant_keys,
      backups: { count: 1, retainedUntil: new Date(backupAt.getTime() + 24 * 3_600_000).toISOString() },
      remaining: { rows: 0, objects: 0 },
    });
    expect(before.tenant_keys).toBeGreaterThan(0);

    // Verified offline with nothing but the published key.
    const published = await call('GET', '/v1/audit/keys', ownerToken);
    const keys = verifierKeys(
      (published.body.keys as { verifierKey: string }[]).map((key) => key.verifierKey),
    );
    expect(verifyDeletionCertificate(certificate, record.body.signature as string, keys)).toBe(true);
    expect(
      verifyDeletionCertificate({ ...certificate, objects: 1 }, record.body.signature as string, keys),
    ).toBe(false);

    // Mailed to the tenant's admins, with the certificate and its signature.
    const mails = readdirSync(mailDir).map((file) => readFileSync(join(mailDir, file), 'utf8'));
    const farewell = mails.filter((mail) => mail.includes('your data on Forecourt is deleted'));
    expect(farewell.length).toBeGreaterThanOrEqual(1);
    expect(farewell[0]).toContain(tenant.emails[0]!);
  });
});

describe('deletion on request and after an interruption', () => {
  it('a platform owner deletes at once with a reason, repeating the id; others may not', async () => {
    const tenant = await seedLiveTenant('on-request');
    const adminToken = await adminTokenOf(tenant);
    const url = `/v1/platform/tenants/${tenant.id}/deletion`;
    const body = { reason: 'verified deletion request #4711', confirm: tenant.id };
    expect((await call('POST', url, adminToken, body)).status).toBe(403);
    const mismatch = await call('POST', url, ownerToken, { ...body, confirm: 'yes' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.detail).toContain('confirm');
    expect((await call('POST', url, ownerToken, { confirm: tenant.id })).status).toBe(400);
    expect(Object.values(await rowsPerTable(tenant.id)).some((n) => n > 0)).toBe(true);

    const deleted = await call('POST', url, ownerToken, body);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ state: 'completed', reason: body.reason });
    expect(deleted.body.certificate).toMatchObject({
      reason: body.reason,
      remaining: { rows: 0, objects: 0 },
    });
    expect(Object.values(await rowsPerTable(tenant.id)).every((n) => n === 0)).toBe(true);
    // The platform's own chain records it (the tenant's chain went with the tenant).
    const { rows } = await admin.query<{ action: string }>(
      `select action from audit_events where tenant_id = '00000000-0000-0000-0000-000000000000' and subject_id = $1
        order by at, id`,
      [tenant.id],
    );
    expect(rows.map((row) => row.action)).toEqual(['tenant.deletion_started', 'tenant.deleted']);
    // Asked again: the same completed deletion, not a second one.
    expect(await call('POST', url, ownerToken, body)).toEqual(deleted);
  });

  it('an interrupted deletion, run again, completes without error and certifies the original counts', async () => {
    const tenant = await seedLiveTenant('interrupted');
    await api.app.get(ObjectStore).put({ tenantId: tenant.id }, 'media/a.jpg', 'a');
    const before = await rowsPerTable(tenant.id);
    const deletions = api.app.get(TenantDeletions);
    await deletions.begin(tenant.id, { reason: 'test', requestedBy: tenant.userIds[0]!, dueAt: null });
    // Cut short: part of one table gone, the rest (objects, keys, people) not yet.
    const partial = await runtime.query<{ n: string }>(
      "select app.shred_tenant_rows($1, 'audit_events', 1) as n",
      [tenant.id],
    );
    expect(Number(partial.rows[0]!.n)).toBe(1);
    expect((await deletions.record(tenant.id)).state).toBe('running');

    const report = await api.app.get(LifecycleSchedule).run();
    expect(report.deleted).toContain(tenant.id);
    const record = await deletions.record(tenant.id);
    expect(record).toMatchObject({ state: 'completed', certificate: { rows: before, objects: 1 } });
    expect(Object.values(await rowsPerTable(tenant.id)).every((n) => n === 0)).toBe(true);
    // And again: nothing left to do, no error.
    await expect(deletions.finish(tenant.id)).resolves.toMatchObject({ state: 'completed' });
  });

  it('two runs of one deletion at once: one does it, the other is refused or finds it done', async () => {
    const tenant = await seedLiveTenant('twice');
    const deletions = api.app.get(TenantDeletions);
    await deletions.begin(tenant.id, { reason: 'test', requestedBy: tenant.userIds[0]!, dueAt: null });
    const runs = await Promise.allSettled([deletions.finish(tenant.id), deletions.finish(tenant.id)]);
    const done = runs.filter((run) => run.status === 'fulfilled');
    const refused = runs.filter((run) => run.status === 'rejected');
    expect(done.length).toBeGreaterThanOrEqual(1);
    for (const run of refused) expect(String(run.reason)).toContain('being deleted right now');
    const record = await deletions.record(tenant.id);
    expect(record.state).toBe('completed');
    expect(record.certificate).toMatchObject({ peopleRemoved: tenant.userIds.length });
    for (const run of done) expect(run.value.certificate).toEqual(record.certificate);
  });

  it('the shredding refuses a tenant that is not marked deleted, and the runtime cannot mark audit rows gone', async () => {
    const tenant = await seedTenant(runtime, 'alive');
    await expect(
      runtime.query("select app.shred_tenant_rows($1, 'audit_events', 10)", [tenant.id]),
    ).rejects.toMatchObject({ code: 'FC410' });
    await expect(runtime.query('select * from app.tenant_row_counts($1)', [tenant.id])).rejects.toMatchObject(
      {
        code: 'FC410',
      },
    );
    expect(Object.values(await rowsPerTable(tenant.id)).some((n) => n > 0)).toBe(true);

    // Marked deleted, the trail still refuses the runtime's own DELETE (only the owner's shredding passes).
    await admin.query(`update tenants set status = 'deleted' where id = $1`, [tenant.id]);
    const client = await runtime.connect();
    try {
      await client.query('begin');
      await client.query(
        `select set_config('app.tenant_id', $1, true), set_config('app.shred_tenant', $1, true)`,
        [tenant.id],
      );
      await expect(
        client.query('delete from audit_events where tenant_id = $1', [tenant.id]),
      ).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('runs on one instance at a time: while another holds the lifecycle lock, a run does nothing', async () => {
    const tenant = await seedLiveTenant('locked-out');
    await admin.query(
      `update tenants set status = 'cancelled', cancelled_at = $2, billing_period_end = null where id = $1`,
      [tenant.id, new Date(clock.now().getTime() - 31 * DAY)],
    );
    const holder = await admin.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [0x4643_4c59]);
      expect(await api.app.get(LifecycleSchedule).run()).toEqual({
        ran: false,
        enteredGrace: 0,
        deleted: [],
        failed: [],
      });
      expect(Object.values(await rowsPerTable(tenant.id)).some((n) => n > 0)).toBe(true);
    } finally {
      await holder.query('select pg_advisory_unlock_all()');
      holder.release();
    }
    expect((await api.app.get(LifecycleSchedule).run()).deleted).toEqual([tenant.id]);
  });

  it("a payment provider's cancellation sets the same dates", async () => {
    const tenant = await seedTenant(runtime, 'provider-cancel');
    const end = new Date('2027-06-30T00:00:00Z');
    await admin.query(
      `update tenants set status = 'cancelled', cancelled_at = $2, billing_period_end = $3 where id = $1`,
      [tenant.id, new Date('2027-06-01T00:00:00Z'), end],
    );
    const { rows } = await admin.query<{ access_until: Date; delete_after: Date }>(
      'select access_until, delete_after from tenants where id = $1',
      [tenant.id],
    );
    expect(rows[0]).toEqual({ access_until: end, delete_after: new Date(end.getTime() + 30 * DAY) });
  });
});
