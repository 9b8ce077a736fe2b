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
