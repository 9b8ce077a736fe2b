import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool } from 'pg';
import { tablesInLoadOrder } from '@forecourt/backup';
import {
  createEmptyDatabase,
  createTestDatabase,
  seedTenant,
  tableContents,
  type TestDatabase,
} from '@forecourt/test-harness';

/** `backup:run`, `backup:list` and `backup:restore` as an operator runs them, against a seeded database. */

const execFileAsync = promisify(execFile);
const REPO = join(__dirname, '..', '..');
let source: TestDatabase;
let dataDir: string;
const masterKey = randomBytes(32).toString('base64');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: REPO,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        MASTER_KEY: masterKey,
        DATABASE_URL: source.runtimeUrl,
        MIGRATION_DATABASE_URL: source.ownerUrl,
        LOG_LEVEL: 'silent',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

beforeAll(async () => {
  source = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'forecourt-backup-cli-'));
  const runtime = new Pool({ connectionString: source.runtimeUrl, max: 1 });
  await seedTenant(runtime, 'cli-a');
  await seedTenant(runtime, 'cli-b');
  await runtime.end();
});

afterAll(async () => {
  await source.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('backup CLI', () => {
  let backupId: string;

  it('backup:run writes an encrypted backup into DATA_DIR/backups and prints its id last', async () => {
    const run = await cli(['backup:run']);
    expect(run).toMatchObject({ code: 0 });
    backupId = run.stdout.trim().split('\n').pop()!;
    expect(backupId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readdirSync(join(dataDir, 'backups'))).toEqual([`${backupId}.fcb`]);
  });

  it('backup:list --json shows it, with its size, not yet verified', async () => {
    const list = await cli(['backup:list', '--json']);
    expect(list.code).toBe(0);
    const backups = JSON.parse(list.stdout) as { id: string; sizeBytes: number; verifyStatus: null }[];
    expect(backups).toEqual([
      expect.objectContaining({ id: backupId, verifyStatus: null, verifiedAt: null }) as unknown,
    ]);
    expect(backups[0]!.sizeBytes).toBeGreaterThan(1000);
  });

  it('backup:restore fills an empty database with every row, checked', async () => {
    const target = await createEmptyDatabase();
    try {
      const restore = await cli(['backup:restore', '--id', backupId, '--database-url', target.ownerUrl]);
      expect(restore).toMatchObject({ code: 0 });
      expect(restore.stdout).toMatch(/^restored \d+ tables, \d+ rows, checked$/m);
      const owner = new Client({ connectionString: source.ownerUrl });
      await owner.connect();
      const tables = await tablesInLoadOrder(owner).finally(() => owner.end());
      const restored = await tableContents(target, tables);
      const original = await tableContents(source, tables);
      // The backups table: the source has since marked the backup completed; the copy holds the
      // row as it was when the snapshot was taken (running).
      delete restored.backups;
      delete original.backups;
      expect(restored).toEqual(original);
    } finally {
      await target.drop();
    }
  });

  it('backup:restore refuses, in one line, a backup that does not exist', async () => {
    const target = await createEmptyDatabase();
    try {
      const missing = await cli([
        'backup:restore',
        '--id',
        '01a23100-0000-7000-8000-00000000dead',
        '--database-url',
        target.ownerUrl,
      ]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/no such file/);
      expect(existsSync(join(dataDir, 'backups', '01a23100-0000-7000-8000-00000000dead.fcb'))).toBe(false);
    } finally {
      await target.drop();
    }
  });
});
