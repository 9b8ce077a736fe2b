import { Pool } from 'pg';
import { ExportQueue, LeaseLostError, MAX_ATTEMPTS } from '@forecourt/lifecycle';
import {
  createGroup,
  type Group,
  startTestApi,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * The export queue's rules, driven directly as two instances would: a claim is exclusive while its
 * lease runs; an abandoned run is taken over, and its old holder can change nothing any more; an
 * export is given up after its last attempt; a deleted tenant's exports are never run. The API
 * here runs no export jobs itself (`EXPORT_POLL_MS=0`), so only the test claims.
 */

const LEASE_SECONDS = 30;
const mail = temporaryMailDir();
let api: TestApi;
let admin: Pool;
let group: Group;
let queue: ExportQueue;

async function requestExport(): Promise<string> {
  const response = await api.app.inject({
    method: 'POST',
    url: `/v1/tenants/${group.tenantId}/exports`,
    payload: { format: 'csv' },
    headers: { authorization: `Bearer ${group.tokens['admin@export-queue.test']}` },
  });
  expect(response.statusCode).toBe(202);
  return response.json<{ id: string }>().id;
}

async function rowOf(id: string) {
  const { rows } = await admin.query<{
    status: string;
    attempts: number;
    rows_done: string;
    failure: string | null;
  }>('select status, attempts, rows_done, failure from exports where id = $1', [id]);
  return rows[0]!;
}

/** As if the holder's process had died a while ago. */
async function leaseRunsOut(id: string): Promise<void> {
  await admin.query(`update exports set lease_until = now() - interval '1 second' where id = $1`, [id]);
}

beforeAll(async () => {
  api = await startTestApi({ env: { MAIL_DIR: mail.path, EXPORT_POLL_MS: '0' } });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  group = await createGroup(api, mail.path, { slug: 'export-queue', stores: ['Lot'] });
  queue = api.app.get(ExportQueue);
});

afterAll(async () => {
  await admin?.end();
  await api?.close();
  mail.remove();
});

describe('the export queue', () => {
  it('gives a queued export to one claim only while its lease runs', async () => {
    const id = await requestExport();
    const first = await queue.claimNext(LEASE_SECONDS);
    expect(first).toMatchObject({ tenantId: group.tenantId, id, format: 'csv', attempt: 1 });
    expect(await queue.claimNext(LEASE_SECONDS)).toBeNull();
    expect(await rowOf(id)).toMatchObject({ status: 'running', attempts: 1 });
    await queue.release(first!);
    expect(await rowOf(id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('lets another instance take over a run whose lease ran out; the old holder can change nothing', async () => {
    const first = (await queue.claimNext(LEASE_SECONDS))!;
    await queue.heartbeat(first, LEASE_SECONDS, 10, 100);
    expect(await rowOf(first.id)).toMatchObject({ rows_done: '10' });
    await leaseRunsOut(first.id);

    const second = (await queue.claimNext(LEASE_SECONDS))!;
    expect(second).toMatchObject({ id: first.id, attempt: 2 });
    expect(await rowOf(first.id)).toMatchObject({ status: 'running', attempts: 2, rows_done: '0' });

    await expect(queue.heartbeat(first, LEASE_SECONDS, 50, 100)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      queue.complete(first, {
        objectPath: 'exports/x/attempt-1.zip',
        size: 1,
        sha256: '00'.repeat(32),
        rowCount: 1,
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await queue.attemptFailed(first, 'old holder', 0);
    await queue.release(first);
    expect(await rowOf(first.id)).toMatchObject({
      status: 'running',
      attempts: 2,
      rows_done: '0',
      failure: null,
    });

    await queue.attemptFailed(second, 'the archive could not be written', 0);
    expect(await rowOf(first.id)).toMatchObject({ status: 'queued', attempts: 2 });
  });

  it(`fails an export for good after ${MAX_ATTEMPTS} attempts, also when the last one died`, async () => {
    const job = (await queue.claimNext(LEASE_SECONDS))!;
    expect(job.attempt).toBe(MAX_ATTEMPTS);
    await leaseRunsOut(job.id); // the last attempt's process died
    expect(await queue.claimNext(LEASE_SECONDS)).toBeNull();
    expect(await rowOf(job.id)).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
    const { rows } = await admin.query<{ action: string }>(
      `select action from audit_events where tenant_id = $1 and subject_id = $2 order by at`,
      [group.tenantId, job.id],
    );
    expect(rows.map((row) => row.action)).toEqual(['export.create', 'export.fail']);
  });

  it('never runs an export of a deleted tenant', async () => {
    const id = await requestExport();
    await admin.query(`update tenants set status = 'deleted' where id = $1`, [group.tenantId]);
    try {
      expect(await queue.claimNext(LEASE_SECONDS)).toBeNull();
      expect(await rowOf(id)).toMatchObject({ status: 'queued', attempts: 0 });
    } finally {
      await admin.query(`update tenants set status = 'active' where id = $1`, [group.tenantId]);
    }
  });
});
