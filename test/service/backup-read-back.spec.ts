import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { assertMatches, copyRows } from '@forecourt/backup';
import { createTestDatabase, type TestDatabase } from '@forecourt/test-harness';

/**
 * The read-back check of a restore compares each table's COPY text with the backup's hash, so it
 * must read every table from its first page, in the order it was loaded. PostgreSQL may start a
 * sequential scan of a large table (over a quarter of shared_buffers) where another scan of it
 * last was — a synchronised scan — and the same rows then come back rotated. A restore's own
 * foreign-key checks scan tables: this is how a full-size restore once failed its check.
 */

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new Client({ connectionString: db.adminUrl });
  await client.connect();
  // About 77 MB: well over a quarter of the test cluster's 128 MB of shared buffers.
  await client.query(`create table big (n int, pad text)`);
  await client.query(`insert into big select g, repeat(md5(g::text), 3) from generate_series(1, 600000) g`);
}, 120_000);

afterAll(async () => {
  await client.end();
  await db.drop();
});

it('reads a large table back from its first page even after a scan of it stopped midway', async () => {
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  for await (const chunk of client.query(copyTo('copy big (n, pad) to stdout')) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    rows += copyRows(chunk);
    bytes += chunk.length;
  }
  const manifest = {
    backupId: 'read-back',
    tables: [{ name: 'big', rows, bytes, sha256: hash.digest('hex') }],
  };

  await client.query('begin');
  try {
    // A scan that stops two thirds of the way in, as a foreign-key check's scan may.
    await client.query('select n from big offset 400000 limit 1');
    await expect(assertMatches(client, manifest)).resolves.toBeUndefined();
  } finally {
    await client.query('rollback');
  }
});
