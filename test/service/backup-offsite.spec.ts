import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { v4 as uuid } from 'uuid';
import {
  type BackupRunSetup,
  BackupRuns,
  backupSetup,
  scratchDatabases,
  tablesInLoadOrder,
} from '@forecourt/backup';
import { loadConfig } from '@forecourt/config';
import {
  createEmptyDatabase,
  createTestDatabase,
  OWNER_ROLE,
  type S3TestServer,
  seedTenant,
  startS3Server,
  restorableContents,
  type TestDatabase,
} from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

/**
 * The off-site copy (`BACKUP_S3_*`): the same sealed file in a bucket of its own, through a real
 * S3-protocol server (s3rver); its retention; a restore from it once the local copy is gone.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let db: TestDatabase;
let s3: S3TestServer;
let dataDir: string;
let owner: Client;
let setup: BackupRunSetup;

/** The deployment's setup, as `npm start` and the CLI build it, with `bucket` as its off-site bucket. */
function setupWith(bucket: string): BackupRunSetup {
  const config = loadConfig({
    DATA_DIR: dataDir,
    MASTER_KEY: randomBytes(32).toString('base64'),
    BACKUP_S3_ENDPOINT: s3.settings.endpoint,
    BACKUP_S3_BUCKET: bucket,
    BACKUP_S3_REGION: s3.settings.region,
    BACKUP_S3_ACCESS_KEY_ID: s3.settings.accessKeyId,
    BACKUP_S3_SECRET_ACCESS_KEY: s3.settings.secretAccessKey,
    // s3rver stores the SDK's streamed checksum framing as object bytes (docs/storage.md).
    S3_CHECKSUMS: 'when_required',
  });
  const database = {
    runtimeUrl: db.runtimeUrl,
    ownerUrl: db.ownerUrl,
    embedded: null,
    close: async () => {},
  };
  return {
    ...backupSetup(config, database, MIGRATIONS),
    scratch: scratchDatabases(db.adminUrl, { role: OWNER_ROLE, url: db.ownerUrl }),
  };
}

const objectFile = (id: string, bucket = s3.settings.bucket) =>
  join(s3.directory, bucket, 'backups', `${id}.fcb._S3rver_object`);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startS3Server();
  dataDir = mkdtempSync(join(tmpdir(), 'forecourt-offsite-'));
  owner = new Client({ connectionString: db.ownerUrl });
  await owner.connect();
  const runtime = new Pool({ connectionString: db.runtimeUrl, max: 1 });
  await seedTenant(runtime, 'offsite-a');
  await seedTenant(runtime, 'offsite-b');
  await runtime.end();
  setup = setupWith(s3.settings.bucket);
});

afterAll(async () => {
  setup.offsite?.close();
  await owner.end();
  await s3.stop();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the off-site copy', () => {
  let id: string;

  it('a run uploads the backup that passed its restore test: the same bytes, listed as uploaded', async () => {
    const outcome = await new BackupRuns(setup).run();
    id = outcome.id;
    expect(outcome.verify?.status).toBe('passed');
    expect(outcome.offsite).toEqual({ status: 'uploaded', detail: null });
    const local = readFileSync(setup.local.fileOf(id));
    expect(sha256(readFileSync(objectFile(id)))).toBe(sha256(local));
    expect((await setup.local.list()).find((backup) => backup.id === id)).toMatchObject({
      localCopy: true,
      offsiteCopy: true,
      offsiteStatus: 'uploaded',
      offsiteError: null,
    });
  });

  it('restores from the off-site copy once the local file is gone: every table equal by query', async () => {
    rmSync(setup.local.fileOf(id));
    const target = await createEmptyDatabase();
    try {
      const report = await new BackupRuns(setup).restore(id, target.ownerUrl);
      expect(report.manifest.tables.length).toBeGreaterThan(10);
      const tables = await tablesInLoadOrder(owner);
      expect(await restorableContents(target, tables)).toEqual(await restorableContents(db, tables));
    } finally {
      await target.drop();
    }
  });

  it('an upload that fails leaves the backup completed and good locally, with the reason recorded', async () => {
    const broken = setupWith('no-such-bucket');
    try {
      const outcome = await new BackupRuns(broken).run();
      expect(outcome.verify?.status).toBe('passed');
      expect(outcome.offsite?.status).toBe('failed');
      expect(existsSync(broken.local.fileOf(outcome.id))).toBe(true);
      const listed = (await broken.local.list()).find((backup) => backup.id === outcome.id)!;
      expect(listed).toMatchObject({ status: 'completed', offsiteStatus: 'failed', offsiteCopy: false });
      expect(listed.offsiteError).toMatch(/bucket/i);
    } finally {
      broken.offsite?.close();
    }
  });
});

describe('retention of the two copies', () => {
  const NOW = new Date('2026-12-01T02:30:00Z');

  /** A backup record made `hours` before NOW, with a local file and an off-site object as asked. */
  async function backupAged(
    hours: number,
    copies: { local: boolean; offsite: boolean },
    verifyStatus: 'passed' | 'failed' = 'passed',
  ): Promise<string> {
    const id = uuid();
    await owner.query(
      `insert into backups (id, created_at, status, schema_version, verify_status, local_path)
       values ($1, $2, 'completed', 'v', $3, $4)`,
      [
        id,
        new Date(NOW.getTime() - hours * HOUR),
        verifyStatus,
        copies.local ? setup.local.fileOf(id) : null,
      ],
    );
    writeFileSync(setup.local.fileOf(id), `sealed bytes of ${id}`);
    if (copies.offsite)
      expect((await setup.offsite!.upload(id, setup.local.fileOf(id))).status).toBe('uploaded');
    if (!copies.local) rmSync(setup.local.fileOf(id));
    return id;
  }

  const records = async () =>
    (
      await owner.query<{ id: string; local: boolean; offsite: boolean }>(
        `select id, local_path is not null as local, offsite_key is not null as offsite from backups
          order by created_at`,
      )
    ).rows;

  beforeEach(async () => {
    await owner.query('delete from backups');
  });

  it('keeps off-site copies for the off-site period and the records while either copy lives', async () => {
    const old = await backupAged(10 * 24, { local: false, offsite: true });
    const week = await backupAged(6 * 24, { local: false, offsite: true });
    const twoDays = await backupAged(48, { local: true, offsite: true });
    const today = await backupAged(2, { local: true, offsite: true });

    expect((await setup.local.prune(NOW, DAY)).sort()).toEqual([twoDays]);
    expect((await setup.offsite!.prune(NOW, 7 * DAY)).sort()).toEqual([old]);
    expect(await records()).toEqual([
      { id: week, local: false, offsite: true },
      { id: twoDays, local: false, offsite: true },
      { id: today, local: true, offsite: true },
    ]);
    expect(existsSync(objectFile(old))).toBe(false);
    expect(existsSync(objectFile(week))).toBe(true);
    expect(existsSync(setup.local.fileOf(twoDays))).toBe(false);
  });

  it('never removes the newest off-site copy that passed its restore test, however old', async () => {
    const older = await backupAged(30 * 24, { local: false, offsite: true });
    const lastGood = await backupAged(20 * 24, { local: false, offsite: true });
    const newest = await backupAged(10 * 24, { local: false, offsite: true }, 'failed');
    expect((await setup.offsite!.prune(NOW, 7 * DAY)).sort()).toEqual([older]);
    expect((await records()).map((record) => record.id)).toEqual([lastGood, newest]);
    expect(existsSync(objectFile(lastGood))).toBe(true);
  });
});
