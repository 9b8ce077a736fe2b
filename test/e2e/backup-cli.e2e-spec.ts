import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool } from 'pg';
import { scratchDatabasePrefix, tablesInLoadOrder } from '@forecourt/backup';
import {
  clusterInfo,
  createEmptyDatabase,
  createTestDatabase,
  removeTenant,
  seedTenant,
  restorableContents,
  type TestDatabase,
  urlFor,
} from '@forecourt/test-harness';

/** `backup:run`, `backup:list` and `backup:restore` as an operator runs them, against a seeded database. */

const execFileAsync = promisify(execFile);
const REPO = join(__dirname, '..', '..');
let source: TestDatabase;
let dataDir: string;
const masterKey = randomBytes(32).toString('base64');
let tenantA: string;
let tenantB: string;

/** What an operator's shell holds: this deployment's data directory, key and databases. */
function cliEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATA_DIR: dataDir,
    MASTER_KEY: masterKey,
    DATABASE_URL: source.runtimeUrl,
    MIGRATION_DATABASE_URL: source.ownerUrl,
    // The cluster's administrator makes (and drops) the scratch databases backups are checked in.
    BACKUP_VERIFY_DATABASE_URL: urlFor(
      clusterInfo(),
      clusterInfo().adminUser,
      clusterInfo().adminPassword,
      'postgres',
    ),
    LOG_LEVEL: 'silent',
  };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: REPO,
      env: cliEnv(),
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
  tenantA = (await seedTenant(runtime, 'cli-a')).id;
  tenantB = (await seedTenant(runtime, 'cli-b')).id;
  await runtime.end();
});

afterAll(async () => {
  await source.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('backup CLI', () => {
  let backupId: string;

  it('backup:run writes an encrypted backup into DATA_DIR/backups, checks it by restoring it, and prints its id last', async () => {
    const run = await cli(['backup:run']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stderr).toMatch(/verification passed: \d+ tables, \d+ rows restored and matched/);
    backupId = run.stdout.trim().split('\n').pop()!;
    expect(backupId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readdirSync(join(dataDir, 'backups'))).toEqual([`${backupId}.fcb`]);
    // Not on a terminal: a plain line per table, for each stage.
    const lines = run.stderr.split('\n');
    const tables = lines.filter((line) =>
      /^backup: \d+\/\d+ tables, [\d.]+ MiB, [\d.]+ MiB\/s \(\w+ done\)$/.test(line),
    );
    expect(tables.length).toBeGreaterThan(10);
    expect(tables.at(-1)).toMatch(/^backup: (\d+)\/\1 tables/);
    expect(lines.some((line) => /^restore test: \d+\/\d+ tables, .* \(\w+ done\)$/.test(line))).toBe(true);
    expect(run.stderr).not.toContain('\r');
  });

  it('on a terminal, shows one progress line redrawn in place', async () => {
    // `script` runs the command on a pseudo-terminal of its own, as an operator's shell would.
    const command = [process.execPath, 'dist/apps/cli/src/main.js', 'backup:verify'].join(' ');
    const { stdout } = await execFileAsync('script', ['-qec', command, '/dev/null'], {
      cwd: REPO,
      env: { ...cliEnv(), TERM: 'dumb' },
    });
    const redrawn = stdout.split('\r\x1b[K').slice(1);
    expect(
      redrawn.some((line) => /^restore test: \d+\/\d+ tables, [\d.]+ MiB, [\d.]+ MiB\/s/.test(line)),
    ).toBe(true);
    expect(stdout).toMatch(/verification passed/);
  });

  it('backup:list --json shows it, with its size and its passed verification', async () => {
    const list = await cli(['backup:list', '--json']);
    expect(list.code).toBe(0);
    const backups = JSON.parse(list.stdout) as { id: string; sizeBytes: number; verifiedAt: string | null }[];
    expect(backups).toEqual([expect.objectContaining({ id: backupId, verifyStatus: 'passed' }) as unknown]);
    expect(backups[0]!.sizeBytes).toBeGreaterThan(1000);
    expect(new Date(backups[0]!.verifiedAt!).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('backup:verify fails loudly, naming the chunk, when the file was damaged, and records it', async () => {
    const file = join(dataDir, 'backups', `${backupId}.fcb`);
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    writeFileSync(file, damaged);
    try {
      const verify = await cli(['backup:verify', '--id', backupId]);
      expect(verify.code).not.toBe(0);
      expect(verify.stderr).toMatch(/failed verification: .*chunk \d+/);
      const list = JSON.parse((await cli(['backup:list', '--json'])).stdout) as { verifyStatus: string }[];
      expect(list[0]!.verifyStatus).toBe('failed');
    } finally {
      writeFileSync(file, original);
    }
    expect((await cli(['backup:verify'])).code).toBe(0);
    // Every check of this backup dropped its scratch database, the failed one too. (Other suites
    // check backups of their own in the same cluster meanwhile.)
    const admin = new Client({ connectionString: source.adminUrl });
    await admin.connect();
    const { rows } = await admin
      .query(`select datname from pg_database where starts_with(datname, $1)`, [
        scratchDatabasePrefix(backupId),
      ])
      .finally(() => admin.end());
    expect(rows).toEqual([]);
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
      expect(await restorableContents(target, tables)).toEqual(await restorableContents(source, tables));
    } finally {
      await target.drop();
    }
  });

  it('backup:restore --tenant restores one tenant: its tenants row and none other', async () => {
    const target = await createEmptyDatabase();
    try {
      const restore = await cli([
        'backup:restore',
        '--id',
        backupId,
        '--tenant',
        tenantA.toUpperCase(),
        '--database-url',
        target.ownerUrl,
      ]);
      expect(restore).toMatchObject({ code: 0 });
      expect(restore.stdout).toMatch(
        new RegExp(`^restored tenant ${tenantA}: its rows of \\d+ tables$`, 'm'),
      );
      const admin = new Client({ connectionString: target.adminUrl });
      await admin.connect();
      const { rows } = await admin
        .query<{ tenant: string; stores: string[] }>(
          `select (select string_agg(id::text, ',') from tenants) as tenant,
                  array(select distinct tenant_id::text from stores) as stores`,
        )
        .finally(() => admin.end());
      expect(rows).toEqual([{ tenant: tenantA, stores: [tenantA] }]);
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
      expect(missing.stderr).toMatch(/has no copy here: no local file and no off-site copy/);
      expect(existsSync(join(dataDir, 'backups', '01a23100-0000-7000-8000-00000000dead.fcb'))).toBe(false);
    } finally {
      await target.drop();
    }
  });

  it('backup:restore --into-live brings one removed tenant back into the live database, only when --confirm repeats its id', async () => {
    await removeTenant(source, tenantA);
    const storesOf = async (tenant: string) => {
      const admin = new Client({ connectionString: source.adminUrl });
      await admin.connect();
      const { rows } = await admin
        .query<{ n: number }>(`select count(*)::int as n from stores where tenant_id = $1`, [tenant])
        .finally(() => admin.end());
      return rows[0]!.n;
    };
    const intoLive = ['backup:restore', '--id', backupId, '--tenant', tenantA, '--into-live'];

    const unconfirmed = await cli(intoLive);
    expect(unconfirmed.code).not.toBe(0);
    expect(unconfirmed.stderr.trim().split('\n')).toEqual([
      'refusing to restore into the live database without --confirm <tenant id> (the tenant id again)',
    ]);
    const mistyped = await cli([...intoLive, '--confirm', tenantB]);
    expect(mistyped.code).not.toBe(0);
    expect(mistyped.stderr.trim().split('\n')).toEqual([
      'the confirmation does not repeat the tenant id: nothing was restored',
    ]);
    const elsewhere = await cli([...intoLive, '--confirm', tenantA, '--database-url', source.ownerUrl]);
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/takes no --database-url/);
    expect(await storesOf(tenantA)).toBe(0);

    const restore = await cli([...intoLive, '--confirm', tenantA.toUpperCase()]);
    expect(restore).toMatchObject({ code: 0 });
    expect(restore.stdout).toMatch(
      new RegExp(
        `^restored tenant ${tenantA} into the live database: \\d+ rows of \\d+ tables, 2 people added, 0 kept as they were; checked$`,
        'm',
      ),
    );
    expect(await storesOf(tenantA)).toBe(2);
    expect(await storesOf(tenantB)).toBe(2);

    const again = await cli([...intoLive, '--confirm', tenantA]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/still has rows in the live database \(table tenants\)/);
  });
});
