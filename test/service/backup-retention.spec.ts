import { createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { v4 as uuid } from 'uuid';
import { LocalBackups } from '@forecourt/backup';
import { KeyWrapper } from '@forecourt/crypto';
import { createTestDatabase, type TestDatabase } from '@forecourt/test-harness';

/** Local retention with a controlled clock: old copies go, the newest good one never. */

const HOUR = 3_600_000;
const NOW = new Date('2026-12-01T02:30:00Z');
let db: TestDatabase;
let owner: Client;
let dir: string;
let backups: LocalBackups;

async function backupAged(
  hours: number,
  status: 'completed' | 'failed' | 'running',
  verifyStatus: 'passed' | 'failed' | null = null,
): Promise<string> {
  const id = uuid();
  await owner.query(
    `insert into backups (id, created_at, status, schema_version, verify_status, local_path)
     values ($1, $2, $3, 'v', $4, $5)`,
    [
      id,
      new Date(NOW.getTime() - hours * HOUR),
      status,
      verifyStatus,
      status === 'completed' ? join(dir, `${id}.fcb`) : null,
    ],
  );
  if (status === 'completed') writeFileSync(join(dir, `${id}.fcb`), 'sealed bytes');
  return id;
}

const remaining = async () =>
  (await owner.query<{ id: string }>('select id from backups order by created_at')).rows.map((row) => row.id);

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new Client({ connectionString: db.ownerUrl });
  await owner.connect();
});

beforeEach(async () => {
  await owner.query('delete from backups');
  dir = mkdtempSync(join(tmpdir(), 'forecourt-retention-'));
  backups = new LocalBackups(db.ownerUrl, new KeyWrapper(createSecretKey(randomBytes(32))), dir);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

afterAll(async () => {
  await owner.end();
  await db.drop();
});

describe('local backup retention', () => {
  it('removes copies older than the retention, with their files, and keeps the younger ones', async () => {
    const threeDays = await backupAged(72, 'completed');
    const failed = await backupAged(30, 'failed');
    const yesterday = await backupAged(25, 'completed');
    const recent = await backupAged(2, 'completed');
    const running = await backupAged(0.1, 'running');
    const removed = await backups.prune(NOW, 24 * HOUR);
    expect(removed.sort()).toEqual([threeDays, failed, yesterday].sort());
    expect(await remaining()).toEqual([recent, running]);
    expect(existsSync(join(dir, `${threeDays}.fcb`))).toBe(false);
    expect(existsSync(join(dir, `${yesterday}.fcb`))).toBe(false);
    expect(existsSync(join(dir, `${recent}.fcb`))).toBe(true);
  });

  it('never removes the newest completed backup, however old', async () => {
    const older = await backupAged(96, 'completed');
    const newestGood = await backupAged(48, 'completed');
    const failedSince = await backupAged(30, 'failed');
    const removed = await backups.prune(NOW, 24 * HOUR);
    expect(removed.sort()).toEqual([older, failedSince].sort());
    expect(await remaining()).toEqual([newestGood]);
    expect(existsSync(join(dir, `${newestGood}.fcb`))).toBe(true);
  });

  it('keeps the newest backup that passed its restore test when newer ones failed theirs', async () => {
    const older = await backupAged(96, 'completed', 'passed');
    const lastGood = await backupAged(72, 'completed', 'passed');
    const failedItsTest = await backupAged(50, 'completed', 'failed');
    const newest = await backupAged(48, 'completed', 'failed');
    const removed = await backups.prune(NOW, 24 * HOUR);
    expect(removed.sort()).toEqual([older, failedItsTest].sort());
    expect(await remaining()).toEqual([lastGood, newest]);
    expect(existsSync(join(dir, `${lastGood}.fcb`))).toBe(true);
  });

  it('keeps everything within the retention', async () => {
    const ids = [await backupAged(23, 'completed'), await backupAged(1, 'completed')];
    expect(await backups.prune(NOW, 24 * HOUR)).toEqual([]);
    expect(await remaining()).toEqual(ids);
  });
});
