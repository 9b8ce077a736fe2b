import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool, type QueryResultRow } from 'pg';
import { v7 as newId } from 'uuid';
import { BackupRuns, LocalBackups } from '@forecourt/backup';
import { KeyWrapper } from '@forecourt/crypto';
import {
  AUDIT_TRAIL_TABLES,
  createTestDatabase,
  inTenant,
  removeTenant,
  type SeededTenant,
  seedTenant,
  seedUser,
  tenantContents,
  type TestDatabase,
} from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

/**
 * One tenant of a backup restored back into the live database it was taken of, after its rows
 * were removed there: every row of it equal by query to what it was, the other tenant untouched,
 * and every refusal and failure leaving nothing committed.
 */

const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.name;
const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000';
const wrapper = new KeyWrapper(createSecretKey(randomBytes(32)));

let live: TestDatabase;
let dir: string;
let local: LocalBackups;
let runs: BackupRuns;
let backupId: string;
let tenantA: SeededTenant;
let tenantB: SeededTenant;
/** B's first member, who is A's member too. */
let shared: string;

async function asAdmin<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const admin = new Client({ connectionString: live.adminUrl });
  await admin.connect();
  try {
    return (await admin.query<T>(sql, params)).rows;
  } finally {
    await admin.end();
  }
}

/** Everything of tenant `id` a restore into the live database brings back (the trail aside). */
async function restorable(id: string, people: readonly string[]) {
  const contents = await tenantContents(live, id);
  for (const table of AUDIT_TRAIL_TABLES) delete contents[table];
  return {
    contents,
    tenant: await asAdmin<{ row: string }>(`select t::text as row from tenants t where id = $1`, [id]),
    people: await peopleRows(people),
  };
}

/**
 * People's rows, but their permissions version (the membership trigger moves it on: a counter, not
 * their data) and platform role (never restored: a test of its own).
 */
async function peopleRows(ids: readonly string[]) {
  return asAdmin<{ row: string }>(
    `select (to_jsonb(u) - 'permissions_version' - 'platform_role')::text as row from users u
      where id = any($1) order by id`,
    [ids],
  );
}

/** Tenant B as a whole: every table with its rows, its tenants row and its people. */
async function everythingOf(tenant: SeededTenant) {
  return {
    contents: await tenantContents(live, tenant.id),
    tenant: await asAdmin<{ row: string }>(`select t::text as row from tenants t where id = $1`, [tenant.id]),
    people: await peopleRows(tenant.userIds),
  };
}

/** Whether tenant `id` has any row in the live database, the trail aside. */
async function holdsRowsOf(id: string): Promise<string[]> {
  const contents = await tenantContents(live, id);
  const tables = Object.entries(contents)
    .filter(([table, value]) => !AUDIT_TRAIL_TABLES.includes(table) && !value.startsWith('0:'))
    .map(([table]) => table);
  const tenant = await asAdmin(`select 1 from tenants where id = $1`, [id]);
  return tenant.length > 0 ? ['tenants', ...tables] : tables;
}

const restoredEvents = () =>
  asAdmin<{
    tenant_id: string;
    id: string;
    subject_id: string;
    subject_ids: string[] | null;
    reason: string;
  }>(
    `select tenant_id, id, subject_id, subject_ids, reason from audit_events
      where action = 'backup.tenant_restored' order by tenant_id`,
  );

let aBefore: Awaited<ReturnType<typeof restorable>>;
let bBefore: Awaited<ReturnType<typeof everythingOf>>;
let aTrailBefore: Record<string, string>;

beforeAll(async () => {
  live = await createTestDatabase();
  const runtime = new Pool({ connectionString: live.runtimeUrl, max: 2 });
  tenantA = await seedTenant(runtime, 'live-a');
  tenantB = await seedTenant(runtime, 'live-b');
  shared = tenantB.userIds[0]!;
  await seedUser(runtime, tenantA.id, {
    email: 'unused',
    name: 'unused',
    role: 'dealer_sales',
    userId: shared,
  });
  await inTenant(runtime, { tenantId: tenantA.id }, (client) =>
    client.query(
      `insert into customers (tenant_id, id, store_id, name, notes)
       select $1, gen_random_uuid(), $2, 'Customer ' || g, md5(g::text) from generate_series(1, 200) g`,
      [tenantA.id, tenantA.storeIds[0]],
    ),
  );
  await runtime.end();
  dir = mkdtempSync(join(tmpdir(), 'forecourt-into-live-'));
  local = new LocalBackups(live.ownerUrl, wrapper, dir);
  runs = new BackupRuns({
    ownerUrl: live.ownerUrl,
    local,
    schemaVersion: SCHEMA_VERSION,
    scratch: null,
    migrate: () => Promise.reject(new Error('a restore into the live database never migrates')),
    localRetentionMs: 86_400_000,
    offsite: null,
    offsiteRetentionMs: 86_400_000,
  });
  // One of A's own people was platform staff too when the backup was taken.
  await asAdmin(`update users set platform_role = 'platform_support' where id = $1`, [tenantA.userIds[1]]);
  backupId = await local.run(SCHEMA_VERSION);

  aBefore = await restorable(tenantA.id, tenantA.userIds);
  aTrailBefore = await tenantContents(live, tenantA.id);
  // The shared person changes after the backup: the live row is the one to keep.
  await asAdmin(`update users set name = 'Renamed after the backup' where id = $1`, [shared]);
  bBefore = await everythingOf(tenantB);
  // A dealer's mistake undone by hand: every row of A gone but its tenants row (for now).
  await removeTenant(live, tenantA.id, { keepTenantsRow: true });
}, 120_000);

afterAll(async () => {
  await live.drop();
  rmSync(dir, { recursive: true, force: true });
});

const restoreA = (confirmTenantId: string = tenantA.id) =>
  runs.restoreTenantIntoLive(backupId, { tenantId: tenantA.id, confirmTenantId });

/** Whether A's tenants row is still in the live database (the first tests' refusal needs it). */
let aTenantsRowKept = true;

/** Nothing of A came back, no event was recorded, and B is as it was. */
async function expectNothingRestored(): Promise<void> {
  expect(await holdsRowsOf(tenantA.id)).toEqual(aTenantsRowKept ? ['tenants'] : []);
  expect(await peopleRows(tenantA.userIds)).toEqual([]);
  expect(await restoredEvents()).toEqual([]);
  expect(await everythingOf(tenantB)).toEqual(bBefore);
}

describe('restoring one tenant into the live database', () => {
  it('refuses without the confirmation, or with one that does not repeat the tenant id', async () => {
    const typo = `${tenantA.id.slice(0, -1)}${tenantA.id.endsWith('0') ? '1' : '0'}`;
    for (const confirmTenantId of [undefined, '', tenantB.id, typo]) {
      await expect(
        runs.restoreTenantIntoLive(backupId, { tenantId: tenantA.id, confirmTenantId }),
      ).rejects.toThrow(/^the confirmation does not repeat the tenant id: nothing was restored$/);
    }
    await expectNothingRestored();
  });

  it('refuses a tenant that still has rows there, naming the table: its tenants row alone, or any other', async () => {
    await expect(restoreA()).rejects.toThrow(
      new RegExp(`^tenant ${tenantA.id} still has rows in the live database \\(table tenants\\)`),
    );
    await expect(
      runs.restoreTenantIntoLive(backupId, { tenantId: tenantB.id, confirmTenantId: tenantB.id }),
    ).rejects.toThrow(
      new RegExp(`^tenant ${tenantB.id} still has rows in the live database \\(table \\w+\\)`),
    );
    await expectNothingRestored();
    await removeTenant(live, tenantA.id);
    aTenantsRowKept = false;
    await expectNothingRestored();
  });

  it('refuses a backup taken at another schema version than the live one', async () => {
    const older = await local.run(MIGRATIONS[0]!.name);
    await expect(
      runs.restoreTenantIntoLive(older, { tenantId: tenantA.id, confirmTenantId: tenantA.id }),
    ).rejects.toThrow(
      `backup ${older} was taken at schema version ${MIGRATIONS[0]!.name}, the live database is at ${SCHEMA_VERSION}`,
    );
    await expectNothingRestored();
  });

  it('refuses a tenant the backup does not hold', async () => {
    const stranger = newId();
    await expect(
      runs.restoreTenantIntoLive(backupId, { tenantId: stranger, confirmTenantId: stranger }),
    ).rejects.toThrow(`tenant ${stranger} is not in backup ${backupId}`);
    await expectNothingRestored();
  });

  it('refuses a person whose e-mail another live person holds, naming the table and column, not the address', async () => {
    const email = tenantA.emails[0]!;
    const other = newId();
    await asAdmin(`insert into users (id, email, name) values ($1, $2, 'Someone else')`, [other, email]);
    try {
      const refusal = await restoreA().then(
        () => null,
        (error: Error) => error.message,
      );
      expect(refusal).toMatch(/^table users, column email: .* nothing was restored$/);
      expect(refusal).not.toContain(email);
      expect(refusal).not.toContain(email.split('@')[0]);
    } finally {
      await asAdmin(`delete from users where id = $1`, [other]);
    }
    await expectNothingRestored();
  });

  it('refuses a tenant whose slug another live tenant took since, naming the table and column', async () => {
    const other = newId();
    await asAdmin(`insert into tenants (id, slug, name) values ($1, $2, 'Took the slug')`, [
      other,
      tenantA.slug,
    ]);
    try {
      await expect(restoreA()).rejects.toThrow(/^table tenants, column slug: .* nothing was restored$/);
    } finally {
      await asAdmin(`delete from tenants where id = $1`, [other]);
    }
    await expectNothingRestored();
  });

  it('a tampered or cut backup fails, leaving nothing committed', async () => {
    const file = local.fileOf(backupId);
    const original = readFileSync(file);
    const flipped = Buffer.from(original);
    flipped[original.length - 5]! ^= 0x01;
    try {
      for (const [damaged, failure] of [
        [flipped, /chunk \d+/],
        [original.subarray(0, original.length - 100), /chunk \d+|ends/],
      ] as const) {
        writeFileSync(file, damaged);
        await expect(restoreA()).rejects.toThrow(failure);
        await expectNothingRestored();
      }
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a failure midway through the move into the live tables leaves nothing committed, and their security forced', async () => {
    // A real failure of the database on one of the last tables, once the others are in.
    await asAdmin(`create or replace function public.refuse_for_test() returns trigger language plpgsql as $$
                     begin raise exception 'consent events refused for the test'; end $$`);
    await asAdmin(`create trigger refuse_for_test before insert on consent_events
                     for each row execute function public.refuse_for_test()`);
    try {
      await expect(restoreA()).rejects.toThrow(
        /^restoring table consent_events into the live database: consent events refused for the test$/,
      );
    } finally {
      await asAdmin(`drop trigger refuse_for_test on consent_events`);
      await asAdmin(`drop function public.refuse_for_test()`);
    }
    await expectNothingRestored();
    const unforced = await asAdmin<{ name: string }>(
      `select relname as name from pg_class
        where relnamespace = 'public'::regnamespace and relrowsecurity and not relforcerowsecurity`,
    );
    expect(unforced).toEqual([]);
  });

  it('refuses rows that the live database changed on the way in: read back, they are not what the backup held', async () => {
    await asAdmin(`create function public.change_for_test() returns trigger language plpgsql as $$
                     begin new.mileage := new.mileage + 1; return new; end $$`);
    await asAdmin(`create trigger change_for_test before insert on vehicles
                     for each row execute function public.change_for_test()`);
    try {
      await expect(restoreA()).rejects.toThrow(
        /^table vehicles: read back 2 rows \(set digest [0-9a-f]{12}…\) where 2 were loaded \(set digest [0-9a-f]{12}…\)$/,
      );
    } finally {
      await asAdmin(`drop trigger change_for_test on vehicles`);
      await asAdmin(`drop function public.change_for_test()`);
    }
    await expectNothingRestored();
  });

  it('restores the tenant: every row of it equal by query to what it was, the other tenant untouched', async () => {
    const report = await restoreA(tenantA.id.toUpperCase());
    expect(await restorable(tenantA.id, tenantA.userIds)).toEqual(aBefore);
    // Every table held rows of A, so "equal" is never "both empty".
    expect(Object.entries(aBefore.contents).filter(([, value]) => value.startsWith('0:'))).toEqual([]);
    expect(await everythingOf(tenantB)).toEqual(bBefore);
    expect(report.rows).toMatchObject({ tenants: 1, users: tenantA.userIds.length, stores: 2 });
    expect(report.rows.customers).toBe(202);
    // Row-level security is forced again, and the runtime role sees A's rows in A's transaction only.
    const runtime = new Pool({ connectionString: live.runtimeUrl, max: 1 });
    try {
      const seen = await inTenant(
        runtime,
        { tenantId: tenantA.id },
        async (client) =>
          (await client.query<{ n: number }>('select count(*)::int as n from customers')).rows[0]!.n,
      );
      expect(seen).toBe(202);
    } finally {
      await runtime.end();
    }
  });

  it('keeps a person already in the live database as they are, with their membership of the tenant back', async () => {
    const [person] = await asAdmin<{ name: string }>(`select name from users where id = $1`, [shared]);
    expect(person).toEqual({ name: 'Renamed after the backup' });
    expect(
      await asAdmin(`select tenant_id from memberships where user_id = $1 order by tenant_id`, [shared]),
    ).toEqual([tenantA.id, tenantB.id].sort().map((tenant_id) => ({ tenant_id })));
  });

  it('brings a removed person back without the platform role the backup gave them', async () => {
    expect(
      await asAdmin(`select id, platform_role from users where id = any($1) order by id`, [tenantA.userIds]),
    ).toEqual([...tenantA.userIds].sort().map((id) => ({ id, platform_role: null })));
  });

  it("records backup.tenant_restored in the tenant's chain and the platform's, the trail otherwise as it was", async () => {
    const events = await restoredEvents();
    expect(events).toHaveLength(2);
    expect(events.map((event) => event.tenant_id).sort()).toEqual([PLATFORM_CHAIN, tenantA.id].sort());
    expect(new Set(events.map((event) => event.id)).size).toBe(1);
    for (const event of events) {
      expect(event).toMatchObject({ subject_id: tenantA.id, subject_ids: null });
      expect(event.reason).toMatch(
        new RegExp(`^backup ${backupId}; rows: (.*, )?tenants 1, .*customers 202.*; people kept: 1$`),
      );
    }
    const trail = await tenantContents(live, tenantA.id);
    expect(trail.audit_heads).toBe(aTrailBefore.audit_heads);
    expect(trail.audit_checkpoints).toBe(aTrailBefore.audit_checkpoints);
    expect(Number(trail.audit_events!.split(':')[0])).toBe(
      Number(aTrailBefore.audit_events!.split(':')[0]) + 1,
    );
  });

  it('refuses to restore the same tenant a second time', async () => {
    await expect(restoreA()).rejects.toThrow(/still has rows in the live database \(table tenants\)/);
    expect(await restoredEvents()).toHaveLength(2);
  });
});
