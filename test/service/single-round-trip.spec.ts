import { TestingModule } from '@nestjs/testing';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { v7 as newId } from 'uuid';
import { TenantScope, TenantTransaction } from '@forecourt/database';
import {
  createTestDatabase,
  databaseTestingModule,
  SeededTenant,
  seedTenant,
  TestDatabase,
} from '@forecourt/test-harness';

// One pooled connection, so every statement below reuses the connection the previous one used.
let db: TestDatabase;
let moduleRef: TestingModule;
let transactions: TenantTransaction;
let pool: Pool;
let a: SeededTenant;
let b: SeededTenant;

const scopeOf = (tenant: SeededTenant, stores: TenantScope['stores'] = 'all'): TenantScope => ({
  tenantId: tenant.id,
  stores,
});

beforeAll(async () => {
  db = await createTestDatabase();
  const seedPool = new Pool({ connectionString: db.runtimeUrl, max: 1 });
  a = await seedTenant(seedPool, 'alpha');
  b = await seedTenant(seedPool, 'bravo');
  await seedPool.end();
  moduleRef = await databaseTestingModule(db, { poolSize: 1 });
  transactions = moduleRef.get(TenantTransaction);
  pool = (moduleRef.get(DataSource).driver as unknown as { master: Pool }).master;
});

afterAll(async () => {
  await moduleRef.close();
  await db.drop();
});

/** The settings and transaction state of the (single) pooled connection, outside any statement. */
async function connectionState() {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{
      tenant: string | null;
      stores: string | null;
      xact: string | null;
    }>(
      `select current_setting('app.tenant_id', true) as tenant, current_setting('app.store_ids', true) as stores,
              pg_current_xact_id_if_assigned()::text as xact`,
    );
    return rows[0]!;
  } finally {
    client.release();
  }
}

describe('TenantTransaction.statement: context and statement in one round trip', () => {
  it("returns the statement's rows only, with the context in force during it", async () => {
    const result = await transactions.statement<{ tenant: string; stores: string; n: string }>(
      scopeOf(a, [a.storeIds[0]]),
      `select current_setting('app.tenant_id') as tenant, current_setting('app.store_ids') as stores,
              (select count(*) from stores) as n`,
    );
    expect(result.rows).toEqual([{ tenant: a.id, stores: `{${a.storeIds[0]}}`, n: '1' }]);
    expect(result.fields.map((field) => field.name)).toEqual(['tenant', 'stores', 'n']);
  });

  it('leaves the connection without a tenant and without an open transaction', async () => {
    await transactions.statement(scopeOf(a), 'select 1');
    const state = await connectionState();
    expect(state.tenant ?? '').toBe('');
    expect(state.stores ?? '').toBe('');
    expect(state.xact).toBeNull();
  });

  it('commits a write before answering', async () => {
    const id = newId();
    const inserted = await transactions.statement(
      scopeOf(b),
      'insert into stores (tenant_id, id, name) values ($1, $2, $3) returning id',
      [b.id, id, `Committed ${id}`],
    );
    expect(inserted.rowCount).toBe(1);
    const admin = new Pool({ connectionString: db.adminUrl, max: 1 });
    const seen = await admin.query('select 1 from stores where id = $1', [id]);
    await admin.end();
    expect(seen.rowCount).toBe(1);
  });

  it('keeps nothing when the statement fails, and the connection stays usable and clean', async () => {
    const id = newId();
    await expect(
      transactions.statement(scopeOf(a), 'insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
        b.id,
        id,
        'Into the other tenant',
      ]),
    ).rejects.toThrow(/row-level security/);
    const state = await connectionState();
    expect(state.tenant ?? '').toBe('');
    expect(state.xact).toBeNull();
    expect(
      (await transactions.statement(scopeOf(b), 'select 1 from stores where id = $1', [id])).rowCount,
    ).toBe(0);
    expect((await transactions.statement(scopeOf(a), 'select 1 as ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('applies the statement timeout of the scope', async () => {
    await expect(
      transactions.statement(scopeOf(a), 'select pg_sleep(1)', [], { timeoutMs: 30 }),
    ).rejects.toThrow(/statement timeout/);
    expect((await transactions.statement(scopeOf(a), 'select 2 as ok')).rows).toEqual([{ ok: 2 }]);
  });
});

describe('TenantTransaction.statement, prepared: parsed and planned once per connection', () => {
  // No tenant filter of its own: row-level security alone decides which stores come back.
  const STORES = 'select id from stores order by id';

  /** How often the (single) connection holds a prepared statement with `text`. */
  async function preparedCount(text: string): Promise<number> {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from pg_prepared_statements where statement = $1`,
        [text],
      );
      return rows[0]!.n;
    } finally {
      client.release();
    }
  }

  it('keeps one prepared statement, and row-level security still follows each call’s scope', async () => {
    const admin = new Pool({ connectionString: db.adminUrl, max: 1 });
    const storesOf = new Map<string, string[]>();
    for (const tenant of [a, b]) {
      const { rows } = await admin.query<{ id: string }>(
        'select id from stores where tenant_id = $1 order by id',
        [tenant.id],
      );
      storesOf.set(
        tenant.id,
        rows.map((row) => row.id),
      );
    }
    await admin.end();
    // Past the five custom plans after which PostgreSQL may switch to a generic plan.
    for (let round = 0; round < 8; round++) {
      for (const tenant of [a, b]) {
        const { rows } = await transactions.statement<{ id: string }>(scopeOf(tenant), STORES, [], {
          prepared: true,
        });
        expect(rows.map((row) => row.id)).toEqual(storesOf.get(tenant.id));
      }
    }
    expect(await preparedCount(STORES)).toBe(1);
  });

  it('prepares the context statement once per connection, shared by run and statement', async () => {
    for (let round = 0; round < 3; round++) {
      await transactions.run(scopeOf(a), (tx) => tx.query('select 1'));
      await transactions.statement(scopeOf(b), 'select 1');
    }
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        `select name from pg_prepared_statements where statement like '%set_config(''app.tenant_id''%'`,
      );
      expect(rows.map((row) => row.name)).toEqual(['fc_set_context']);
    } finally {
      client.release();
    }
  });

  it('prepares a statement again after a first use that failed before it was parsed', async () => {
    const broken = 'select id from stores where tenant_id = $1 and'; // a syntax error
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(transactions.statement(scopeOf(a), broken, [a.id], { prepared: true })).rejects.toThrow(
        /syntax error/,
      );
    }
    const fixed = 'select count(*)::int as n from stores where tenant_id = $1';
    expect((await transactions.statement(scopeOf(a), fixed, [a.id], { prepared: true })).rows).toEqual([
      { n: a.storeIds.length },
    ]);
  });

  it('runs a statement again after a first use that failed after it was parsed', async () => {
    const divide = 'select 10 / $1::int as q';
    // Parsed, then refused at Bind: the statement exists, node-pg is told to forget it, the next
    // use closes and prepares it again.
    await expect(transactions.statement(scopeOf(a), divide, ['x'], { prepared: true })).rejects.toThrow(
      /invalid input syntax/,
    );
    expect((await transactions.statement(scopeOf(a), divide, [5], { prepared: true })).rows).toEqual([
      { q: 2 },
    ]);
    await expect(transactions.statement(scopeOf(a), divide, [0], { prepared: true })).rejects.toThrow(
      /division by zero/,
    );
    expect((await transactions.statement(scopeOf(a), divide, [2], { prepared: true })).rows).toEqual([
      { q: 5 },
    ]);
    expect(await preparedCount(divide)).toBe(1);
  });
});
