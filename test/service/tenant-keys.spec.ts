import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { ClsModule } from 'nestjs-cls';
import { Pool } from 'pg';
import { v7 as newId } from 'uuid';
import { ConfigModule, loadConfig } from '@forecourt/config';
import { CryptoModule, DecryptionError, TenantKeys } from '@forecourt/crypto';
import { DatabaseModule, TenantTransaction } from '@forecourt/database';
import { TENANT_ENTITIES } from '@forecourt/tenants';
import { createTestDatabase, inTenant, TestDatabase } from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

let db: TestDatabase;
let moduleRef: TestingModule;
let transactions: TenantTransaction;
let keys: TenantKeys;
let admin: Pool;

async function module(masterKey: Buffer): Promise<TestingModule> {
  const ref = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(loadConfig({ MASTER_KEY: masterKey.toString('base64'), LOG_LEVEL: 'silent' })),
      ClsModule.forRoot({ global: true }),
      DatabaseModule.forRoot({
        url: db.runtimeUrl,
        entities: TENANT_ENTITIES,
        migrations: MIGRATIONS,
        poolSize: 4,
      }),
      CryptoModule,
    ],
  }).compile();
  await ref.init();
  return ref;
}

/** A tenant with no data key yet. */
async function newTenant(): Promise<string> {
  const id = newId();
  const pool = new Pool({ connectionString: db.runtimeUrl, max: 1 });
  await inTenant(pool, { tenantId: id }, (client) =>
    client.query('insert into tenants (id, slug, name) values ($1, $2, $3)', [
      id,
      `keys-${id.slice(-8)}`,
      'Keys Group',
    ]),
  );
  await pool.end();
  return id;
}

const inScope = <T>(tenantId: string, work: Parameters<TenantTransaction['run']>[1]) =>
  transactions.run({ tenantId, stores: 'all' }, work) as Promise<T>;

beforeAll(async () => {
  db = await createTestDatabase();
  moduleRef = await module(randomBytes(32));
  transactions = moduleRef.get(TenantTransaction);
  keys = moduleRef.get(TenantKeys);
  admin = new Pool({ connectionString: db.adminUrl, max: 1 });
});

afterAll(async () => {
  await admin.end();
  await moduleRef.close();
  await db.drop();
});

describe('per-tenant data keys', () => {
  it("seals a field under the tenant's own key and opens it in that tenant only", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const sealed = await inScope<Buffer>(a, (tx) =>
      keys.seal(tx, Buffer.from('AB123456C'), 'customer:1:national_id'),
    );
    expect(sealed.includes(Buffer.from('AB123456C'))).toBe(false);
    const opened = await inScope<Buffer>(a, (tx) => keys.open(tx, sealed, 'customer:1:national_id'));
    expect(opened.toString()).toBe('AB123456C');
    await expect(inScope(b, (tx) => keys.open(tx, sealed, 'customer:1:national_id'))).rejects.toThrow(
      DecryptionError,
    );
    await expect(inScope(a, (tx) => keys.open(tx, sealed, 'customer:2:national_id'))).rejects.toThrow(
      DecryptionError,
    );
  });

  it('stores only the wrapped key, which another master key cannot unwrap', async () => {
    const a = await newTenant();
    const sealed = await inScope<Buffer>(a, (tx) =>
      keys.seal(tx, Buffer.from('D1234567'), 'customer:9:driver_license'),
    );
    const { rows } = await admin.query<{ wrapped_key: Buffer }>(
      'select wrapped_key from tenant_keys where tenant_id = $1',
      [a],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.wrapped_key.length).toBe(1 + 12 + 32 + 16);

    const otherMaster = await module(randomBytes(32));
    try {
      const otherKeys = otherMaster.get(TenantKeys);
      const otherTransactions = otherMaster.get(TenantTransaction);
      await expect(
        otherTransactions.run({ tenantId: a, stores: 'all' }, (tx) =>
          otherKeys.open(tx, sealed, 'customer:9:driver_license'),
        ),
      ).rejects.toThrow(DecryptionError);
    } finally {
      await otherMaster.close();
    }
  });

  it('creates exactly one active key when first uses race', async () => {
    const a = await newTenant();
    const sealed = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        inScope<Buffer>(a, (tx) => keys.seal(tx, Buffer.from(`value ${i}`), 'race')),
      ),
    );
    const { rows } = await admin.query(
      'select id from tenant_keys where tenant_id = $1 and retired_at is null',
      [a],
    );
    expect(rows).toHaveLength(1);
    for (const [i, value] of sealed.entries()) {
      expect((await inScope<Buffer>(a, (tx) => keys.open(tx, value, 'race'))).toString()).toBe(`value ${i}`);
    }
  });
});
