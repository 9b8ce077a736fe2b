import { TestingModule } from '@nestjs/testing';
import { Pool } from 'pg';
import { TenantTransaction } from '@forecourt/database';
import {
  clusterInfo,
  createTestDatabase,
  databaseTestingModule,
  type SeededTenant,
  seedTenant,
  TcpProxy,
  type TestDatabase,
} from '@forecourt/test-harness';

/**
 * The database going away under the runtime pool (through a proxy the test cuts): the work in
 * flight fails, nothing else does — in particular no connection's 'error' event goes unheard,
 * which would end the whole process — and the pool serves again as soon as the database is back.
 */

let db: TestDatabase;
let proxy: TcpProxy;
let moduleRef: TestingModule;
let transactions: TenantTransaction;
let tenant: SeededTenant;

beforeAll(async () => {
  db = await createTestDatabase();
  const seedPool = new Pool({ connectionString: db.runtimeUrl, max: 1 });
  tenant = await seedTenant(seedPool, 'outage').finally(() => seedPool.end());
  const info = clusterInfo();
  proxy = await TcpProxy.start({ host: info.host, port: info.port });
  moduleRef = await databaseTestingModule(
    { ...db, runtimeUrl: proxy.urlThrough(db.runtimeUrl) },
    { poolSize: 3 },
  );
  transactions = moduleRef.get(TenantTransaction);
});

afterAll(async () => {
  proxy.restore();
  await moduleRef.close();
  await proxy.close();
  await db.drop();
});

const scope = () => ({ tenantId: tenant.id, stores: 'all' as const });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('a statement whose connection dies fails alone, and the next one after the return succeeds', async () => {
  const inFlight = transactions.statement(scope(), 'select pg_sleep(2)');
  await pause(200);
  proxy.cut();
  await expect(inFlight).rejects.toThrow(/terminated|ECONNRESET|closed/i);
  await expect(transactions.statement(scope(), 'select 1')).rejects.toThrow();
  proxy.restore();
  const { rows } = await transactions.statement<{ n: number }>(
    scope(),
    'select count(*)::int as n from stores',
  );
  expect(rows[0]!.n).toBe(2);
});

it('a transaction whose connection dies rolls back alone; the pool serves again after the return', async () => {
  const inFlight = transactions.run(scope(), async (tx) => {
    await tx.query(`insert into stores (tenant_id, id, name) values ($1, gen_random_uuid(), 'Never')`, [
      tenant.id,
    ]);
    await tx.query('select pg_sleep(2)');
  });
  await pause(200);
  proxy.cut();
  await expect(inFlight).rejects.toThrow();
  proxy.restore();
  const { rows } = await transactions.statement<{ n: number }>(
    scope(),
    `select count(*)::int as n from stores where name = 'Never'`,
  );
  expect(rows[0]!.n).toBe(0);
});
