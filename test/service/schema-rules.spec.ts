import { Client } from 'pg';
import { createTestDatabase, schemaViolations, TestDatabase } from '@forecourt/test-harness';

let db: TestDatabase;
let owner: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new Client({ connectionString: db.ownerUrl });
  await owner.connect();
});

afterAll(async () => {
  await owner.end();
  await db.drop();
});

describe('schema rules (read from the live catalog)', () => {
  it('hold for every table of the migrated schema', async () => {
    expect(await schemaViolations(owner)).toEqual([]);
  });

  it('catch a table that breaks them', async () => {
    // DDL is transactional: the offending tables exist only inside this rolled-back transaction.
    await owner.query('begin');
    try {
      await owner.query(`
        create table bad_things (
          tenant_id uuid not null references tenants (id),
          id uuid not null,
          store_id uuid not null,
          code text not null unique,
          primary key (id, tenant_id)
        )`);
      await owner.query(`create unique index bad_things_store_code on bad_things (store_id, code)`);
      await owner.query(`
        create table bad_links (
          tenant_id uuid not null,
          id uuid not null,
          thing_id uuid not null,
          primary key (tenant_id, id)
        )`);
      await owner.query(`alter table bad_things add constraint bad_things_id_key unique (id)`);
      await owner.query(
        `alter table bad_links add constraint bad_links_thing_fkey foreign key (thing_id) references bad_things (id)`,
      );
      await owner.query(`alter table bad_links enable row level security`);
      await owner.query(`create table loose_notes (id uuid primary key, body text)`);

      const violations = await schemaViolations(owner);
      expect(violations).toEqual(
        expect.arrayContaining([
          'bad_things: row-level security is not enabled and forced',
          'bad_things: primary key does not lead with tenant_id',
          'bad_things: unique constraint bad_things_code_key lacks tenant_id',
          'bad_things: unique index bad_things_store_code lacks tenant_id',
          'bad_links: row-level security is not enabled and forced',
          'bad_links: foreign key bad_links_thing_fkey to bad_things does not pair tenant_id',
          'bad_links: no RESTRICTIVE tenant policy (USING and WITH CHECK) for forecourt_runtime',
          'bad_links: no backup_read policy for the owner',
          'loose_notes: no tenant_id column and not declared a global table',
        ]),
      );
    } finally {
      await owner.query('rollback');
    }
  });
});
