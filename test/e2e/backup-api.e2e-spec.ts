import { SchedulerRegistry } from '@nestjs/schedule';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { PlatformOwners } from '@forecourt/auth';
import { BACKUP_JOB, BackupSchedule } from '@forecourt/backup';
import {
  invitationTokenFor,
  seedTenant,
  SignInClient,
  startTestApi,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * Backups through the API: a platform owner starts one, the owner and support see how it went
 * (support only the status), one run at a time whatever starts it, and the daily schedule runs
 * on exactly one of several instances.
 */

const PASSWORD = 'correct horse battery staple 9';
/** The lock every backup run holds (libs/backup/src/backup-runs.ts). */
const BACKUP_LOCK = 0x6261636b;

let api: TestApi;
let client: SignInClient;
let mailDir: string;
let owner: Pool;
let ownerToken: string;
let supportToken: string;

interface Listed {
  id: string;
  status: string;
  verifyStatus: string | null;
  [field: string]: unknown;
}

async function call(method: 'GET' | 'POST', url: string, token: string) {
  const response = await api.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.statusCode,
    body: response.body ? response.json<Record<string, unknown>>() : null,
  };
}

async function listed(token = ownerToken): Promise<Listed[]> {
  const { status, body } = await call('GET', '/v1/platform/backups', token);
  expect(status).toBe(200);
  return body!.data as Listed[];
}

/** Waits until backup `id` has finished and its restore test has run. */
async function finished(id: string): Promise<Listed> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const backup = (await listed()).find((entry) => entry.id === id);
    if (backup && backup.status !== 'running' && (backup.status === 'failed' || backup.verifyStatus))
      return backup;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`backup ${id} did not finish`);
}

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-backup-api-'));
  api = await startTestApi({ env: { MAIL_DIR: mailDir }, backupSchedule: true });
  client = new SignInClient(api.app);
  owner = new Pool({ connectionString: api.db.ownerUrl, max: 2 });
  const runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 1 });
  await seedTenant(runtime, 'backed-up');
  await runtime.end();

  await api.app.get(PlatformOwners).create('owner@backups.test', 'Olive Owner', PASSWORD);
  ownerToken = (await client.enroll('owner@backups.test', PASSWORD)).token;
  const invited = await api.app.inject({
    method: 'POST',
    url: '/v1/platform/staff/invitations',
    headers: { authorization: `Bearer ${ownerToken}` },
    payload: { email: 'sue@backups.test', role: 'platform_support' },
  });
  expect(invited.statusCode).toBe(201);
  const accepted = await client.post('/v1/auth/invitations/accept', {
    token: invitationTokenFor(mailDir, 'sue@backups.test'),
    name: 'Sue Support',
    password: PASSWORD,
  });
  expect(accepted.status).toBe(200);
  supportToken = (await client.enroll('sue@backups.test', PASSWORD)).token;
});

afterAll(async () => {
  await owner.end();
  await api.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('POST and GET /v1/platform/backups', () => {
  let id: string;

  it('starts a backup (202 with its id) that is taken, restore-tested and listed with its figures', async () => {
    const started = await call('POST', '/v1/platform/backups', ownerToken);
    expect(started.status).toBe(202);
    expect(Object.keys(started.body!).sort()).toEqual(['id', 'status']);
    expect(started.body!.status).toBe('running');
    id = started.body!.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const backup = await finished(id);
    expect(backup).toMatchObject({
      id,
      status: 'completed',
      verifyStatus: 'passed',
      error: null,
    });
    expect(Date.parse(backup.verifiedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(backup.finishedAt as string),
    );
    expect(backup.sizeBytes).toBeGreaterThan(0);
    expect(backup.dataBytes).toBeGreaterThan(backup.sizeBytes as number); // compressed
    expect(backup.rowCount).toBeGreaterThan(0);
    expect(backup.verifyMs).toBeGreaterThanOrEqual(0);
    expect(backup.verifyDetail).toMatch(/^\d+ tables, \d+ rows restored and matched/);
  });

  it('records who started it in the platform chain', async () => {
    const { rows } = await owner.query<{ action: string; actor_role: string }>(
      `select action, actor_role from audit_events
        where tenant_id = '00000000-0000-0000-0000-000000000000' and subject_id = $1`,
      [id],
    );
    // The owner role sees the trail through its backup_read policy.
    expect(rows).toEqual([{ action: 'backup.create', actor_role: 'platform_owner' }]);
  });

  it('shows platform support the status only', async () => {
    const backup = (await listed(supportToken)).find((entry) => entry.id === id)!;
    expect(Object.keys(backup).sort()).toEqual(['createdAt', 'id', 'verifiedAt', 'verifyStatus']);
    expect(backup.verifyStatus).toBe('passed');
  });

  it('refuses platform support a backup of its own', async () => {
    expect((await call('POST', '/v1/platform/backups', supportToken)).status).toBe(403);
  });

  it("refuses a second run while one holds the lock (here: an operator's backup:run), with a 409 problem", async () => {
    const operator = new Client({ connectionString: api.db.ownerUrl });
    await operator.connect();
    try {
      await operator.query('select pg_advisory_lock($1)', [BACKUP_LOCK]);
      const before = (await listed()).length;
      const refused = await api.app.inject({
        method: 'POST',
        url: '/v1/platform/backups',
        headers: { authorization: `Bearer ${ownerToken}` },
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({
        status: 409,
        detail: 'A backup is running already; try again when it ends',
      });
      expect((await listed()).length).toBe(before);
    } finally {
      await operator.end();
    }
  });

  it('marks a run whose process stopped midway as failed when the next run starts', async () => {
    const abandoned = '2f1d7c4e-8a4b-4c2d-9e3f-5a6b7c8d9e0f';
    await owner.query(`insert into backups (id, schema_version) values ($1, 'AuditTrail1795480000000')`, [
      abandoned,
    ]);
    const started = await call('POST', '/v1/platform/backups', ownerToken);
    expect(started.status).toBe(202);
    await finished(started.body!.id as string);
    expect((await listed()).find((entry) => entry.id === abandoned)).toMatchObject({
      status: 'failed',
      error: 'interrupted: the run stopped before it finished',
    });
  });
});

describe('readiness and metrics', () => {
  it('is ready with a backup verified within 26 hours, and exports its figures', async () => {
    const ready = await api.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { backup: 'ok' } });

    const newest = (await listed()).find((entry) => entry.verifyStatus === 'passed')!;
    const metrics = (await api.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('forecourt_backup_last_verified_timestamp_seconds')).toBeCloseTo(
      Date.parse(newest.verifiedAt as string) / 1000,
      0,
    );
    expect(value('forecourt_backup_last_size_bytes')).toBe(newest.sizeBytes);
    expect(value('forecourt_backup_last_verify_passed')).toBe(1);
    expect(value('forecourt_backup_last_verify_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('forecourt_backup_last_duration_seconds')).toBeGreaterThan(0);
  });

  it('reports degraded (still 200) once the last verified backup is older than 26 hours', async () => {
    await owner.query(`update backups set verified_at = verified_at - interval '27 hours'`);
    // Another instance: this one remembers its last reading for a few seconds.
    const other = await startTestApi({ shareDatabaseWith: api });
    try {
      const ready = await other.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'degraded', checks: { backup: 'stale' } });
    } finally {
      await other.close();
      await owner.query(`update backups set verified_at = verified_at + interval '27 hours'`);
    }
  });
});

describe('the schedule', () => {
  it('runs daily at 02:00 UTC by default', () => {
    const job = api.app.get(SchedulerRegistry).getCronJob(BACKUP_JOB);
    expect(job.cronTime.source).toBe('0 2 * * *');
    expect(job.cronTime.timeZone).toBe('UTC');
    const next = job.nextDate().toJSDate();
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([2, 0, 0]);
  });

  it('fired on three instances at once, backs up exactly once; fired again for the same slot, not again', async () => {
    const others = [
      await startTestApi({ shareDatabaseWith: api, backupSchedule: true }),
      await startTestApi({ shareDatabaseWith: api, backupSchedule: true }),
    ];
    try {
      const schedules = [api, ...others].map((instance) => instance.app.get(BackupSchedule));
      const before = new Set((await listed()).map((entry) => entry.id));
      const now = new Date();
      const outcomes = await Promise.all(schedules.map((schedule) => schedule.fire(now)));
      expect(outcomes.filter((outcome) => outcome !== null)).toHaveLength(1);
      const taken = (await listed()).filter((entry) => !before.has(entry.id));
      expect(taken).toHaveLength(1);
      expect(await finished(taken[0]!.id)).toMatchObject({ status: 'completed', verifyStatus: 'passed' });

      expect(await schedules[2]!.fire(now)).toBeNull();
      expect((await listed()).filter((entry) => !before.has(entry.id))).toHaveLength(1);
    } finally {
      for (const other of others) await other.close();
    }
  });
});
