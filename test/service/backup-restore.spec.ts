import { createSecretKey, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Client, Pool, type QueryResultRow } from 'pg';
import { v7 as newId } from 'uuid';
import { BackupWriter, restoreSnapshot, tablesInLoadOrder, writeSnapshot } from '@forecourt/backup';
import { KeyWrapper } from '@forecourt/crypto';
import { migrateSchema } from '@forecourt/database';
import {
  createEmptyDatabase,
  createTestDatabase,
  inTenant,
  type SeededTenant,
  seedTenant,
  seedUser,
  tableContents,
  tenantContents,
  type TestDatabase,
} from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

/**
 * A backup of a seeded database (two tenants, a row in every table) restored into an empty one:
 * every table's rows compared by query in both databases, not only counted.
 */

const MARKER = 'BACKUP-PLAINTEXT-MARKER-7f3a';
const wrapper = new KeyWrapper(createSecretKey(randomBytes(32)));
let source: TestDatabase;
let sourceOwner: Client;

const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.name;
const migrateTo = (ownerUrl: string) => async (version: string) => {
  const upTo = MIGRATIONS.findIndex((migration) => migration.name === version);
  if (upTo < 0) throw new Error(`unknown schema version ${version}`);
  await migrateSchema(ownerUrl, MIGRATIONS.slice(0, upTo + 1));
};

async function backup(backupId: string): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (chunk: Buffer) => parts.push(chunk));
  const writer = new BackupWriter(out, wrapper, {
    format: 1,
    backupId,
    schemaVersion: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
  });
  await writeSnapshot(sourceOwner, writer);
  return Buffer.concat(parts);
}

/** The bytes as a file read stream gives them: 64 KiB at a time. */
function pieces(bytes: Buffer): Readable {
  return Readable.from(
    Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, index) =>
      bytes.subarray(index * 65_536, (index + 1) * 65_536),
    ),
  );
}

/** The tenants of `db` and a store of each. */
async function tableIds(db: TestDatabase): Promise<{ tenants: string[]; storeOf: Record<string, string> }> {
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ tenant_id: string; id: string }>(
      `select distinct on (tenant_id) tenant_id, id from stores order by tenant_id, id`,
    );
    return {
      tenants: rows.map((row) => row.tenant_id),
      storeOf: Object.fromEntries(rows.map((row) => [row.tenant_id, row.id])),
    };
  } finally {
    await admin.end();
  }
}

async function withOwner<T>(db: TestDatabase, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

let tenantA: SeededTenant;
let tenantB: SeededTenant;

beforeAll(async () => {
  source = await createTestDatabase();
  const runtime = new Pool({ connectionString: source.runtimeUrl, max: 2 });
  const a = (tenantA = await seedTenant(runtime, 'backup-a'));
  tenantB = await seedTenant(runtime, 'backup-b');
  // A person in both groups, and one of A's members whose account B's SSO vouches for.
  await seedUser(runtime, a.id, {
    email: 'unused',
    name: 'unused',
    role: 'dealer_sales',
    userId: tenantB.userIds[0],
  });
  await inTenant(runtime, { tenantId: a.id }, async (client) => {
    await client.query(`insert into stores (tenant_id, id, name) values ($1, $2, $3)`, [
      a.id,
      newId(),
      MARKER,
    ]);
    // Enough hard-to-compress rows that the backup spans several 1 MiB compression blocks (and
    // many 64 KiB sealed chunks): damage past the first block is met after the schema is built
    // and some tables are loaded.
    await client.query(
      `insert into customers (tenant_id, id, store_id, name, notes)
       select $1, gen_random_uuid(), $2, 'Customer ' || g, md5(random()::text) || md5(random()::text)
       from generate_series(1, 24000) g`,
      [a.id, a.storeIds[0]],
    );
  });
  await runtime.end();
  // The platform's own tables, which no tenant seed touches.
  const admin = new Client({ connectionString: source.adminUrl });
  await admin.connect();
  await admin.query(`insert into auth_attempts (ip, endpoint, failed) values ('192.0.2.7', 'login', true)`);
  await admin.query(
    `insert into key_material (id, purpose, wrapped_key) values ('k-backup-test', 'session-signing', '\\x0102')`,
  );
  await admin.query(
    `insert into platform_invitations (id, email, role, token_hash, expires_at)
     values ($1, 'staff@example.test', 'platform_support', '\\x0a0b', now() + interval '1 day')`,
    [newId()],
  );
  await admin.query(`insert into backups (id, schema_version) values ($1, $2)`, [newId(), SCHEMA_VERSION]);
  await admin.query(
    `insert into plans (id, code, name, price_per_store_minor, currency, max_stores) values ($1, 'standard', 'Standard', 4900, 'USD', 5)`,
    [newId()],
  );
  await admin.query(
    `insert into tenant_deletions (tenant, state, reason, started_at, completed_at, row_counts, certificate, signature)
     values ($1, 'completed', 'grace ended', now(), now(), '{"stores": 2}', '{"format": "forecourt-deletion-certificate/1"}', 'c2ln')`,
    [newId()],
  );
  await admin.query(`update users set sso_tenant_id = $2 where id = $1`, [a.userIds[1], tenantB.id]);
  await admin.end();
  sourceOwner = new Client({ connectionString: source.ownerUrl });
  await sourceOwner.connect();
});

afterAll(async () => {
  await sourceOwner.end();
  await source.drop();
});

describe('backup and restore', () => {
  it('restores every table, row for row, into an empty database', async () => {
    const sealed = await backup('01a23100-0000-7000-8000-000000000001');
    const tables = await tablesInLoadOrder(sourceOwner);
    const seeded = await tableContents(source, tables);
    // Every table of the schema holds rows here, so "equal" is never "both empty".
    expect(Object.entries(seeded).filter(([, value]) => value.startsWith('0:'))).toEqual([]);

    const target = await createEmptyDatabase();
    try {
      const report = await withOwner(target, (client) =>
        restoreSnapshot(
          client,
          pieces(sealed),
          wrapper,
          '01a23100-0000-7000-8000-000000000001',
          migrateTo(target.ownerUrl),
        ),
      );
      expect(report.header.schemaVersion).toBe(SCHEMA_VERSION);
      expect(await tableContents(target, tables)).toEqual(seeded);
    } finally {
      await target.drop();
    }
  });

  it('is one snapshot: with writes running throughout, each pair written together is restored together', async () => {
    // A writer adds a customer and its consent event in one transaction, over and over, while the
    // backup runs: customers are copied before consent events (foreign-key order), so a backup
    // that read each table at its own moment would hold customers without their event.
    const writer = new Pool({ connectionString: source.runtimeUrl, max: 1 });
    const [tenant] = (await tableIds(source)).tenants;
    const store = (await tableIds(source)).storeOf[tenant!]!;
    let writing = true;
    let pairs = 0;
    const writes = (async () => {
      while (writing) {
        await inTenant(writer, { tenantId: tenant! }, async (client) => {
          const id = newId();
          await client.query(
            `insert into customers (tenant_id, id, store_id, name, notes) values ($1, $2, $3, 'Pair', 'pair')`,
            [tenant, id, store],
          );
          await client.query(
            `insert into consent_events (tenant_id, id, customer_id, store_id, channel, purpose, status, source)
             values ($1, $2, $3, $4, 'email', 'service', 'granted', 'pair')`,
            [tenant, newId(), id, store],
          );
        });
        pairs += 1;
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the writer is going
      const backupId = '01a23100-0000-7000-8000-000000000005';
      const pairsBefore = pairs;
      const sealed = await backup(backupId);
      expect(pairs).toBeGreaterThan(pairsBefore); // writes ran during the backup
      const target = await createEmptyDatabase();
      try {
        await withOwner(target, (client) =>
          restoreSnapshot(client, pieces(sealed), wrapper, backupId, migrateTo(target.ownerUrl)),
        );
        const admin = new Client({ connectionString: target.adminUrl });
        await admin.connect();
        const { rows } = await admin
          .query<{ customers: number; events: number }>(
            `select (select count(*)::int from customers where notes = 'pair') as customers,
                    (select count(*)::int from consent_events where source = 'pair') as events`,
          )
          .finally(() => admin.end());
        expect(rows[0]!.customers).toBeGreaterThan(0);
        expect(rows[0]!.events).toBe(rows[0]!.customers);
      } finally {
        await target.drop();
      }
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }
  });

  it('holds no plaintext', async () => {
    const sealed = await backup('01a23100-0000-7000-8000-000000000002');
    expect(sealed.includes(Buffer.from(MARKER))).toBe(false);
  });

  it('a flipped byte: the restore fails loudly and leaves no row committed', async () => {
    const backupId = '01a23100-0000-7000-8000-000000000003';
    const sealed = await backup(backupId);
    expect(sealed.length).toBeGreaterThan(1024 * 1024);
    const tables = await tablesInLoadOrder(sourceOwner);
    for (const at of [Math.floor(sealed.length * 0.7), sealed.length - 5]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      const target = await createEmptyDatabase();
      try {
        await expect(
          withOwner(target, (client) =>
            restoreSnapshot(client, pieces(tampered), wrapper, backupId, migrateTo(target.ownerUrl)),
          ),
        ).rejects.toThrow(/chunk \d+/);
        // The damage is past the first chunk: the schema was built, tables were being loaded, and
        // the rollback left every one of them empty.
        const left = await tableContents(target, tables);
        expect(Object.keys(left).length).toBeGreaterThan(10);
        expect(Object.values(left).filter((value) => !value.startsWith('0:'))).toEqual([]);
      } finally {
        await target.drop();
      }
    }
  });

  it('does not open under another master key', async () => {
    const backupId = '01a23100-0000-7000-8000-000000000004';
    const sealed = await backup(backupId);
    const target = await createEmptyDatabase();
    try {
      const other = new KeyWrapper(createSecretKey(randomBytes(32)));
      await expect(
        withOwner(target, (client) =>
          restoreSnapshot(client, Readable.from([sealed]), other, backupId, migrateTo(target.ownerUrl)),
        ),
      ).rejects.toThrow(/does not open/);
    } finally {
      await target.drop();
    }
  });
});

describe('one tenant', () => {
  const backupId = '01a23100-0000-7000-8000-000000000006';
  let sealed: Buffer;
  let target: TestDatabase;

  beforeAll(async () => {
    sealed = await backup(backupId);
    target = await createEmptyDatabase();
    await withOwner(target, (client) =>
      restoreSnapshot(client, pieces(sealed), wrapper, backupId, migrateTo(target.ownerUrl), {
        tenantId: tenantA.id,
      }),
    );
  });

  afterAll(() => target.drop());

  const asAdmin = async <T extends object>(db: TestDatabase, sql: string, params: unknown[] = []) => {
    const admin = new Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      return (await admin.query<T & QueryResultRow>(sql, params)).rows;
    } finally {
      await admin.end();
    }
  };

  it("brings back every row of the tenant's tables, equal by query", async () => {
    const restored = await tenantContents(target, null);
    expect(restored).toEqual(await tenantContents(source, tenantA.id));
    // Every such table held rows of A, so "equal" is never "both empty".
    expect(Object.entries(restored).filter(([, value]) => value.startsWith('0:'))).toEqual([]);
  });

  it('brings back nothing of any other tenant: no row, no id, no value of B', async () => {
    expect(await asAdmin<{ id: string }>(target, 'select id from tenants')).toEqual([{ id: tenantA.id }]);
    const tables = await tablesInLoadOrder(sourceOwner);
    for (const table of tables) {
      const rows = await asAdmin<{ text: string }>(target, `select t::text as text from "${table}" t`);
      // The person in both groups is A's member too: their own row (a B-tagged e-mail) comes back.
      const shared = tenantB.userIds[0]!;
      const foreign = rows.filter(
        (row) =>
          row.text.includes(tenantB.id) ||
          (row.text.includes('backup-b') && !row.text.startsWith(`(${shared},`)),
      );
      expect({ table, foreign }).toEqual({ table, foreign: [] });
    }
  });

  it("brings back the people its rows name, and no one else: a person shared with B keeps only A's membership", async () => {
    const people = (await asAdmin<{ id: string }>(target, 'select id from users order by id')).map(
      (row) => row.id,
    );
    const members = (
      await asAdmin<{ id: string }>(
        source,
        'select distinct user_id as id from memberships where tenant_id = $1 order by 1',
        [tenantA.id],
      )
    ).map((row) => row.id);
    expect(people).toEqual(members);
    expect(people).toContain(tenantB.userIds[0]);
    expect(people).not.toContain(tenantB.userIds[1]);
    expect(
      await asAdmin(target, 'select tenant_id from memberships where user_id = $1', [tenantB.userIds[0]]),
    ).toEqual([{ tenant_id: tenantA.id }]);
    // B's SSO vouching for one of A's members is B's: left empty.
    expect(
      await asAdmin(target, 'select sso_tenant_id from users where id = $1', [tenantA.userIds[1]]),
    ).toEqual([{ sso_tenant_id: null }]);
  });

  it("leaves out the platform's tables: sessions, keys, rate limits, invitations, backups", async () => {
    const counts = await asAdmin<Record<string, number>>(
      target,
      `select (select count(*)::int from sessions) as sessions, (select count(*)::int from recovery_codes) as recovery_codes,
              (select count(*)::int from key_material) as key_material, (select count(*)::int from auth_attempts) as auth_attempts,
              (select count(*)::int from platform_invitations) as platform_invitations, (select count(*)::int from backups) as backups`,
    );
    expect(counts).toEqual([
      {
        sessions: 0,
        recovery_codes: 0,
        key_material: 0,
        auth_attempts: 0,
        platform_invitations: 0,
        backups: 0,
      },
    ]);
  });

  it('a flipped byte anywhere still fails it, leaving no row', async () => {
    const tampered = Buffer.from(sealed);
    tampered[sealed.length - 5]! ^= 0x01;
    const other = await createEmptyDatabase();
    try {
      await expect(
        withOwner(other, (client) =>
          restoreSnapshot(client, pieces(tampered), wrapper, backupId, migrateTo(other.ownerUrl), {
            tenantId: tenantA.id,
          }),
        ),
      ).rejects.toThrow(/chunk \d+/);
      expect(
        Object.values(await tenantContents(other, null)).filter((value) => !value.startsWith('0:')),
      ).toEqual([]);
    } finally {
      await other.drop();
    }
  });
});
