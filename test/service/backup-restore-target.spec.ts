import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { LocalBackups } from '@forecourt/backup';
import { KeyWrapper } from '@forecourt/crypto';
import { createTestDatabase, seedTenant, type TestDatabase } from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

/**
 * A restore empties the tables it loads (in its transaction, so that rows land in the order they
 * come and the read-back check sees the backup's order) — so it must never meet a database that
 * holds rows: it refuses one, and leaves it as it was.
 */

const wrapper = new KeyWrapper(createSecretKey(randomBytes(32)));
let source: TestDatabase;
let dir: string;
let backups: LocalBackups;
let backupId: string;

beforeAll(async () => {
  source = await createTestDatabase();
  const runtime = new Pool({ connectionString: source.runtimeUrl, max: 1 });
  await seedTenant(runtime, 'order');
  await runtime.end();
  dir = mkdtempSync(join(tmpdir(), 'forecourt-load-order-'));
  backups = new LocalBackups(source.ownerUrl, wrapper, dir);
  backupId = await backups.run(MIGRATIONS[MIGRATIONS.length - 1]!.name);
}, 120_000);

afterAll(async () => {
  await source.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('refuses a database that holds rows, and leaves them', async () => {
  const target = await createTestDatabase(); // migrated, with a tenant in it
  const runtime = new Pool({ connectionString: target.runtimeUrl, max: 1 });
  const tenant = await seedTenant(runtime, 'already-here');
  await runtime.end();
  const owner = new Client({ connectionString: target.ownerUrl });
  await owner.connect();
  try {
    await expect(backups.restore(backupId, target.ownerUrl, async () => {})).rejects.toThrow(
      /the target database is not empty \(table \w+ holds rows\)/,
    );
    const { rows } = await owner.query(`select id from tenants where id = $1`, [tenant.id]);
    expect(rows).toEqual([{ id: tenant.id }]);
  } finally {
    await owner.end();
    await target.drop();
  }
});
