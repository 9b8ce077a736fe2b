import { Client, Pool } from 'pg';
import { v7 as newId } from 'uuid';
import {
  createTestDatabase,
  GLOBAL_TABLES,
  inTenant,
  SeededTenant,
  seedTenant,
  seedUser,
  TestDatabase,
} from '@forecourt/test-harness';

/**
 * Tables declared global, without row-level security (schema history, wrapped keys, sign-in
 * attempts and events, platform staff invitations): see GLOBAL_TABLES for why each is.
 */
const NOT_TENANT_DATA = new Set(
  Object.keys(GLOBAL_TABLES).filter((table) => GLOBAL_TABLES[table] === 'no-tenant-data'),
);

let db: TestDatabase;
let runtime: Pool;
let admin: Pool;
let a: SeededTenant;
let b: SeededTenant;
let sharedUserId: string;

async function publicTables(): Promise<string[]> {
  const { rows } = await admin.query<{ relname: string }>(
    `select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') order by 1`,
  );
  return rows.map((row) => row.relname);
}

/** Row count as the runtime role on `client`, or the error it raised. */
async function countOrError(client: Client, table: string): Promise<number | Error> {
  try {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${table}`);
    return Number(rows[0]!.n);
  } catch (error) {
    return error as Error;
  }
}

async function connectRuntime(): Promise<Client> {
  const client = new Client({ connectionString: db.runtimeUrl });
  await client.connect();
  return client;
}

beforeAll(async () => {
  db = await createTestDatabase();
  runtime = new Pool({ connectionString: db.runtimeUrl, max: 4 });
  admin = new Pool({ connectionString: db.adminUrl, max: 2 });
  a = await seedTenant(runtime, 'alpha');
  b = await seedTenant(runtime, 'bravo');
  sharedUserId = await seedUser(runtime, a.id, {
    email: `shared.${newId()}@example.test`,
    name: 'Shared Person',
  });
  await seedUser(runtime, b.id, {
    email: 'unused',
    name: 'unused',
    userId: sharedUserId,
    role: 'dealer_manager',
  });
});

afterAll(async () => {
  await runtime.end();
  await admin.end();
  await db.drop();
});

describe('with no tenant set', () => {
  it('has data in every table it checks (so the checks below cannot pass vacuously)', async () => {
    for (const table of (await publicTables()).filter((t) => !NOT_TENANT_DATA.has(t))) {
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n from ${table}`);
      expect({ table, hasRows: Number(rows[0]!.n) > 0 }).toEqual({ table, hasRows: true });
    }
  });

  it('sees zero rows or an error in every tenant table, on a new connection', async () => {
    const client = await connectRuntime();
    try {
      const tables = (await publicTables()).filter((table) => !NOT_TENANT_DATA.has(table));
      expect(tables).toEqual(
        expect.arrayContaining([
          'tenants',
          'stores',
          'users',
          'memberships',
          'sessions',
          'recovery_codes',
          'tenant_keys',
        ]),
      );
      for (const table of tables) {
        const result = await countOrError(client, table);
        expect({ table, visible: result instanceof Error ? 0 : result }).toEqual({ table, visible: 0 });
      }
    } finally {
      await client.end();
    }
  });

  it("sees zero rows or an error when the setting reads '' (a connection reused after a tenant transaction)", async () => {
    const client = await connectRuntime();
    try {
      await client.query('begin');
      await client.query(
        `select set_config('app.tenant_id', $1, true), set_config('app.store_ids', '*', true)`,
        [a.id],
      );
      expect(Number((await client.query<{ n: string }>('select count(*) as n from stores')).rows[0]!.n)).toBe(
        2,
      );
      await client.query('commit');
      const setting = await client.query<{ value: string | null }>(
        `select current_setting('app.tenant_id', true) as value`,
      );
      expect(setting.rows[0]!.value).toBe('');

      for (const table of (await publicTables()).filter((t) => !NOT_TENANT_DATA.has(t))) {
        const result = await countOrError(client, table);
        expect({ table, visible: result instanceof Error ? 0 : result }).toEqual({ table, visible: 0 });
      }
    } finally {
      await client.end();
    }
  });
});

describe('with tenant A set', () => {
  it("does not see tenant B's rows in any table", async () => {
    await inTenant(runtime, { tenantId: a.id }, async (client) => {
      const tenants = await client.query<{ id: string }>('select id from tenants');
      expect(tenants.rows.map((row) => row.id)).toEqual([a.id]);
      const stores = await client.query<{ tenant_id: string; name: string }>(
        'select tenant_id, name from stores',
      );
      expect(stores.rows.map((row) => row.name).sort()).toEqual([...a.storeNames].sort());
      const memberships = await client.query<{ tenant_id: string }>('select tenant_id from memberships');
      expect(new Set(memberships.rows.map((row) => row.tenant_id))).toEqual(new Set([a.id]));
      const byId = await client.query('select 1 from stores where id = $1', [b.storeIds[0]]);
      expect(byId.rowCount).toBe(0);
    });
  });

  it("sees the users who are A's members (and the shared one), never B-only users", async () => {
    await inTenant(runtime, { tenantId: a.id }, async (client) => {
      const users = await client.query<{ id: string; email: string }>('select id, email from users');
      const ids = users.rows.map((row) => row.id);
      expect(ids).toEqual(expect.arrayContaining([...a.userIds, sharedUserId]));
      for (const id of b.userIds) expect(ids).not.toContain(id);
      expect(users.rows.map((row) => row.email)).not.toEqual(expect.arrayContaining([b.emails[0]]));
    });
  });

  it('refuses to insert a row into tenant B', async () => {
    await expect(
      inTenant(runtime, { tenantId: a.id }, (client) =>
        client.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
          b.id,
          newId(),
          'Smuggled',
        ]),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inTenant(runtime, { tenantId: a.id }, (client) =>
        client.query(
          `insert into memberships (tenant_id, id, user_id, role, all_stores) values ($1, $2, $3, 'dealer_admin', true)`,
          [b.id, newId(), a.userIds[0]],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('refuses to move a row into tenant B', async () => {
    await expect(
      inTenant(runtime, { tenantId: a.id }, (client) =>
        client.query('update stores set tenant_id = $1 where id = $2', [b.id, a.storeIds[0]]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('inserts a value that exists only in tenant B (no uniqueness across tenants)', async () => {
    const reused = b.storeNames[0];
    await inTenant(runtime, { tenantId: a.id }, async (client) => {
      await client.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
        a.id,
        newId(),
        reused,
      ]);
      const again = await client.query('select 1 from stores where name = $1', [reused]);
      expect(again.rowCount).toBe(1);
      await client.query('delete from stores where name = $1', [reused]);
    });
  });

  it('leaves the other tenant unchanged under unqualified UPDATE and DELETE', async () => {
    // Own tenants, because the changes are committed before the other tenant is compared.
    const c = await seedTenant(runtime, 'charlie');
    const d = await seedTenant(runtime, 'delta');
    const snapshot = async (tenantId: string) =>
      (
        await admin.query<{ row: string }>(
          `select row(s.*)::text as row from stores s where tenant_id = $1
           union all select row(m.*)::text from memberships m where tenant_id = $1 order by 1`,
          [tenantId],
        )
      ).rows.map((row) => row.row);
    const before = await snapshot(d.id);
    expect(before.length).toBe(4);

    await inTenant(runtime, { tenantId: c.id }, async (client) => {
      expect((await client.query(`update stores set name = name || ' (renamed)'`)).rowCount).toBe(2);
      expect((await client.query(`delete from memberships`)).rowCount).toBe(2);
    });

    expect(await snapshot(d.id)).toEqual(before);
    expect((await snapshot(c.id)).filter((row) => row.includes('(renamed)'))).toHaveLength(2);
  });
});

describe('store scope', () => {
  const storesSeen = (stores: 'all' | string[]) =>
    inTenant(runtime, { tenantId: a.id, stores }, async (client) =>
      (await client.query<{ id: string }>('select id from stores order by id')).rows.map((row) => row.id),
    );

  it('hides a store outside app.store_ids', async () => {
    expect(await storesSeen([a.storeIds[0]])).toEqual([a.storeIds[0]]);
  });

  it('shows every store of the tenant for all stores, and none for an empty scope', async () => {
    expect(await storesSeen('all')).toEqual([...a.storeIds].sort());
    expect(await storesSeen([])).toEqual([]);
  });

  it("cannot widen the scope to another tenant's store", async () => {
    expect(await storesSeen([a.storeIds[0], b.storeIds[0]])).toEqual([a.storeIds[0]]);
  });

  it('hides the rows of every store-owned table (found from the catalog) outside the scope', async () => {
    const { rows: tables } = await admin.query<{ table: string }>(
      `select c.relname as table from pg_attribute a join pg_class c on c.oid = a.attrelid
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attname = 'store_id' and not a.attisdropped
          -- an audit event only names the store it concerns: the trail is walled by tenant (and read by admins)
          and c.relname <> 'audit_events'
        order by 1`,
    );
    expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(['vehicle_media', 'vehicles']));
    for (const { table } of tables) {
      const seen = (stores: 'all' | string[]) =>
        inTenant(runtime, { tenantId: a.id, stores }, async (client) =>
          (
            await client.query<{ store_id: string }>(`select distinct store_id from ${table} order by 1`)
          ).rows.map((row) => row.store_id),
        );
      expect({ table, seen: await seen('all') }).toEqual({ table, seen: [...a.storeIds].sort() });
      expect({ table, seen: await seen([a.storeIds[0]]) }).toEqual({ table, seen: [a.storeIds[0]] });
      expect({ table, seen: await seen([]) }).toEqual({ table, seen: [] });
    }
  });

  it('refuses to create or move a vehicle into a store outside the scope', async () => {
    const scoped = { tenantId: a.id, stores: [a.storeIds[0]] };
    await expect(
      inTenant(runtime, scoped, (client) =>
        client.query(
          `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, mileage, price_minor, currency)
           values ($1, $2, $3, 'WVWZZZ1JZXW000001', 2020, 'VW', 'Golf', 1, 1, 'EUR')`,
          [a.id, newId(), a.storeIds[1]],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inTenant(runtime, scoped, (client) =>
        client.query('update vehicles set store_id = $2 where tenant_id = $1', [a.id, a.storeIds[1]]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('refuses to create a store outside the scope', async () => {
    await expect(
      inTenant(runtime, { tenantId: a.id, stores: [a.storeIds[0]] }, (client) =>
        client.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
          a.id,
          newId(),
          'Out of scope',
        ]),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});

describe('the platform tenant directory', () => {
  it('lists every tenant through the narrow function, with directory columns only', async () => {
    const { rows, fields } = await runtime.query('select * from app.platform_tenant_directory(null, 200)');
    expect(fields.map((field) => field.name)).toEqual([
      'id',
      'slug',
      'name',
      'status',
      'created_at',
      'cancelled_at',
      'access_until',
      'delete_after',
    ]);
    expect(rows.map((row: { id: string }) => row.id)).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it('does not open the tenants table itself to the runtime role', async () => {
    const { rowCount } = await runtime.query('select * from tenants');
    expect(rowCount).toBe(0);
  });
});
