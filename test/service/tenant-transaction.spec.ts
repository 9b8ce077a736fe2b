import { TestingModule } from '@nestjs/testing';
import { createHash, randomBytes } from 'node:crypto';
import { ClsService } from 'nestjs-cls';
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { v7 as newId } from 'uuid';
import { SessionProofError, SessionProofErrorCode } from '@forecourt/core';
import {
  NestedTenantTransactionError,
  type SessionProof,
  TenantScope,
  TenantScopeError,
  TenantTransaction,
  TenantTransactionRequiredError,
} from '@forecourt/database';
import { StoreRepository } from '@forecourt/tenants';
import {
  createTestDatabase,
  databaseTestingModule,
  SeededTenant,
  seedTenant,
  TestDatabase,
} from '@forecourt/test-harness';

let db: TestDatabase;
let moduleRef: TestingModule;
let transactions: TenantTransaction;
let stores: StoreRepository;
let dataSource: DataSource;
let seedPool: Pool;
let a: SeededTenant;
let b: SeededTenant;

const scopeOf = (tenant: SeededTenant): TenantScope => ({ tenantId: tenant.id, stores: 'all' });

beforeAll(async () => {
  db = await createTestDatabase();
  seedPool = new Pool({ connectionString: db.runtimeUrl, max: 2 });
  a = await seedTenant(seedPool, 'alpha');
  b = await seedTenant(seedPool, 'bravo');
  moduleRef = await databaseTestingModule(db, { poolSize: 2, providers: [StoreRepository] });
  transactions = moduleRef.get(TenantTransaction);
  stores = moduleRef.get(StoreRepository);
  dataSource = moduleRef.get(DataSource);
});

afterAll(async () => {
  await moduleRef.close();
  await seedPool.end();
  await db.drop();
});

/** The tenant ids of every store row visible to an unfiltered query: RLS alone decides. */
const visibleStoreTenants = async (scope: TenantScope): Promise<string[]> =>
  (await transactions.statement<{ tenant_id: string }>(scope, 'select tenant_id from stores')).rows.map(
    (row) => row.tenant_id,
  );

describe('TenantTransaction.run', () => {
  it('commits the work and returns its result', async () => {
    const created = await transactions.run(scopeOf(a), () => stores.create({ name: `Commit ${newId()}` }));
    const found = await transactions.run(scopeOf(a), () => stores.findById(created.id));
    expect(found?.name).toBe(created.name);
  });

  it('rolls everything back when the work throws midway', async () => {
    const name = `Rollback ${newId()}`;
    await expect(
      transactions.run(scopeOf(a), async () => {
        await stores.create({ name });
        throw new Error('midway');
      }),
    ).rejects.toThrow('midway');
    const rows = await transactions.statement(scopeOf(a), 'select 1 from stores where name = $1', [name]);
    expect(rows.rowCount).toBe(0);
  });

  it('ends a statement that runs past its timeout and keeps nothing', async () => {
    const name = `Timeout ${newId()}`;
    await expect(
      transactions.run(
        scopeOf(a),
        async (tx) => {
          await stores.create({ name });
          await tx.query('select pg_sleep(1)');
        },
        { timeoutMs: 50 },
      ),
    ).rejects.toThrow(/statement timeout/);
    expect(
      (await transactions.statement(scopeOf(a), 'select 1 from stores where name = $1', [name])).rowCount,
    ).toBe(0);
  });

  it('refuses a scope whose ids are not UUIDs before touching the database', async () => {
    await expect(
      transactions.run({ tenantId: "x' or true --", stores: 'all' }, () => Promise.resolve(1)),
    ).rejects.toThrow(TenantScopeError);
  });

  it('refuses to open a tenant transaction inside another', async () => {
    await expect(
      transactions.run(scopeOf(a), () => transactions.run(scopeOf(b), () => Promise.resolve(1))),
    ).rejects.toThrow(NestedTenantTransactionError);
  });
});

describe('TenantTransaction.statement', () => {
  it('sees only the scoped tenant', async () => {
    expect(new Set(await visibleStoreTenants(scopeOf(a)))).toEqual(new Set([a.id]));
    expect(new Set(await visibleStoreTenants(scopeOf(b)))).toEqual(new Set([b.id]));
  });

  it('keeps nothing when the statement fails', async () => {
    const id = newId();
    await expect(
      transactions.statement(
        scopeOf(a),
        'insert into stores (tenant_id, id, name) values ($1, $2, $3), ($1, $2, $3)',
        [a.id, id, `Duplicate ${id}`],
      ),
    ).rejects.toThrow(/duplicate key/);
    expect(
      (await transactions.statement(scopeOf(a), 'select 1 from stores where id = $1', [id])).rowCount,
    ).toBe(0);
  });

  it('commits a single-statement write', async () => {
    const id = newId();
    await transactions.statement(scopeOf(a), 'insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
      a.id,
      id,
      `Single ${id}`,
    ]);
    expect(
      (await transactions.statement(scopeOf(a), 'select 1 from stores where id = $1', [id])).rowCount,
    ).toBe(1);
  });
});

describe('a session check deferred to the first unit of work', () => {
  let owner: Pool;
  let cls: ClsService;
  let proof: SessionProof;

  beforeAll(() => {
    owner = new Pool({ connectionString: db.adminUrl, max: 1 });
    cls = moduleRef.get(ClsService);
  });

  afterAll(() => owner.end());

  /** A fresh live session of tenant a's admin, and the proof of it. */
  beforeEach(async () => {
    const secret = randomBytes(32);
    const tokenHash = createHash('sha256').update(secret).digest();
    const sessionId = newId();
    const userId = a.userIds[0]!;
    await owner.query(
      `insert into sessions (id, user_id, token_hash, expires_at) values ($1, $2, $3, now() + interval '1 hour')`,
      [sessionId, userId, tokenHash],
    );
    const { rows } = await owner.query<{ v: string }>(
      'select permissions_version::text as v from users where id = $1',
      [userId],
    );
    proof = { sessionId, userId, tokenHash, idleMinutes: 30, permissionsVersion: rows[0]!.v };
  });

  const inRequest = <T>(work: () => Promise<T>) => cls.run(work);
  const revoke = () => owner.query('update sessions set revoked_at = now() where id = $1', [proof.sessionId]);
  const failure = (code: SessionProofErrorCode) =>
    expect.objectContaining({ constructor: SessionProofError, code }) as unknown;

  it('lets the first unit through when the session is live, and settles the check', async () => {
    await inRequest(async () => {
      transactions.deferSessionCheck(proof);
      expect(transactions.sessionCheckPending()).toBe(true);
      expect((await visibleStoreTenants(scopeOf(a))).length).toBeGreaterThan(0);
      expect(transactions.sessionCheckPending()).toBe(false);
      await revoke();
      // Checked once per request: later units do not repeat it.
      expect((await visibleStoreTenants(scopeOf(a))).length).toBeGreaterThan(0);
    });
  });

  it('stops a transaction before its work commits when the session has ended', async () => {
    await revoke();
    const name = `Unproven ${newId()}`;
    await inRequest(async () => {
      transactions.deferSessionCheck(proof);
      await expect(transactions.run(scopeOf(a), () => stores.create({ name }))).rejects.toEqual(
        failure(SessionProofErrorCode.Ended),
      );
    });
    const { rowCount } = await owner.query('select 1 from stores where name = $1', [name]);
    expect(rowCount).toBe(0);
  });

  it('stops a statement before it returns a row when the permissions changed', async () => {
    await inRequest(async () => {
      transactions.deferSessionCheck({
        ...proof,
        permissionsVersion: String(Number(proof.permissionsVersion) + 1),
      });
      await expect(visibleStoreTenants(scopeOf(a))).rejects.toEqual(failure(SessionProofErrorCode.Outdated));
      expect(transactions.sessionCheckPending()).toBe(true);
    });
  });

  it('leaves a detached statement alone, and proveSession makes the check on its own', async () => {
    await revoke();
    await inRequest(async () => {
      transactions.deferSessionCheck(proof);
      const detached = await transactions.statement(scopeOf(a), 'select 1 as one', [], { detached: true });
      expect(detached.rows).toEqual([{ one: 1 }]);
      expect(transactions.sessionCheckPending()).toBe(true);
      await expect(transactions.proveSession()).rejects.toEqual(failure(SessionProofErrorCode.Ended));
    });
  });

  it('is waived by a full check (null), whatever the request started with', async () => {
    await revoke();
    await inRequest(async () => {
      transactions.deferSessionCheck(proof);
      transactions.deferSessionCheck(null);
      expect(transactions.sessionCheckPending()).toBe(false);
      await expect(transactions.proveSession()).resolves.toBeUndefined();
    });
  });
});

describe('tenant repositories', () => {
  it('fail loudly outside a tenant transaction', async () => {
    await expect(stores.listPage(10, null)).rejects.toThrow(TenantTransactionRequiredError);
    await expect(stores.create({ name: 'Nowhere' })).rejects.toThrow(TenantTransactionRequiredError);
  });

  it('fail after the transaction that served them has ended', async () => {
    let escaped: (() => Promise<unknown>) | undefined;
    await transactions.run(scopeOf(a), () => {
      escaped = () => stores.listPage(10, null);
      return Promise.resolve();
    });
    await expect(escaped!()).rejects.toThrow(TenantTransactionRequiredError);
  });
});

describe('1,000 interleaved transactions for two tenants over a pool of 2 connections', () => {
  type Outcome = {
    kind: 'read' | 'commit' | 'fail' | 'rollback' | 'timeout';
    tenant: SeededTenant;
    name?: string;
  };

  async function runOne(index: number): Promise<Outcome> {
    const tenant = index % 2 === 0 ? a : b;
    const other = tenant === a ? b : a;
    const scope = scopeOf(tenant);
    const name = `Load ${index} ${newId()}`;
    switch (index % 7) {
      case 0:
      case 1: {
        // Unfiltered reads through both entry points: only row-level security separates tenants.
        const viaStatement = await visibleStoreTenants(scope);
        const viaRun = await transactions.run(scope, async (tx) =>
          (await tx.query<{ tenant_id: string }>('select tenant_id from stores')).rows.map(
            (row) => row.tenant_id,
          ),
        );
        for (const seen of [...viaStatement, ...viaRun]) expect(seen).toBe(tenant.id);
        expect(viaStatement.length).toBeGreaterThan(0);
        return { kind: 'read', tenant };
      }
      case 2:
        await transactions.run(scope, () => stores.create({ name }));
        return { kind: 'commit', tenant, name };
      case 3:
        await expect(
          transactions.run(scope, async (tx) => {
            await stores.create({ name });
            // Fails midway: a write into the other tenant is refused by RLS.
            await tx.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
              other.id,
              newId(),
              name,
            ]);
          }),
        ).rejects.toThrow(/row-level security/);
        return { kind: 'fail', tenant, name };
      case 4:
        await expect(
          transactions.run(scope, async () => {
            await stores.create({ name });
            throw new Error('changed my mind');
          }),
        ).rejects.toThrow('changed my mind');
        return { kind: 'rollback', tenant, name };
      case 5:
        await expect(
          transactions.run(
            scope,
            async (tx) => {
              await stores.create({ name });
              await tx.query('select pg_sleep(0.2)');
            },
            { timeoutMs: 20 },
          ),
        ).rejects.toThrow(/statement timeout/);
        return { kind: 'timeout', tenant, name };
      default: {
        const page = await transactions.run(scope, () => stores.listPage(50, null));
        for (const store of page) expect(store.tenantId).toBe(tenant.id);
        return { kind: 'read', tenant };
      }
    }
  }

  it('never see each other, keep exactly the committed writes, and leave no tenant on a connection', async () => {
    const outcomes: Outcome[] = [];
    const concurrency = 16;
    for (let start = 0; start < 1000; start += concurrency) {
      const batch = Array.from({ length: Math.min(concurrency, 1000 - start) }, (_, offset) =>
        runOne(start + offset),
      );
      outcomes.push(...(await Promise.all(batch)));
    }
    expect(outcomes).toHaveLength(1000);

    for (const tenant of [a, b]) {
      const names = new Set(
        (await transactions.statement<{ name: string }>(scopeOf(tenant), 'select name from stores')).rows.map(
          (row) => row.name,
        ),
      );
      for (const outcome of outcomes.filter((o) => o.name !== undefined)) {
        const expected = outcome.kind === 'commit' && outcome.tenant === tenant;
        expect({ name: outcome.name, kept: names.has(outcome.name!) }).toEqual({
          name: outcome.name,
          kept: expected,
        });
      }
    }

    // Both pooled connections, checked out after all of the above: no tenant, no store scope.
    await onBothConnections(async (client) => {
      const { rows } = await client.query<{ tenant: string | null; stores: string | null }>(
        `select current_setting('app.tenant_id', true) as tenant, current_setting('app.store_ids', true) as stores`,
      );
      expect(rows[0]!.tenant ?? '').toBe('');
      expect(rows[0]!.stores ?? '').toBe('');
      expect((await client.query('select * from stores')).rowCount).toBe(0);
    });
  });
});

describe('TenantWork.copyOut', () => {
  it("streams a COPY under the tenant's row-level security, and the transaction goes on after it", async () => {
    const copied = await transactions.run(scopeOf(a), async (tx) => {
      const copy = tx.copyOut('copy (select tenant_id from stores) to stdout');
      const chunks: Buffer[] = [];
      for await (const chunk of copy.chunks()) chunks.push(chunk);
      const after = await tx.query<{ n: number }>('select 1 as n');
      return { text: Buffer.concat(chunks).toString('utf8'), rows: copy.rowCount, after: after.rows[0]?.n };
    });
    const tenants = copied.text.trim().split('\n');
    expect(tenants.length).toBe(copied.rows);
    expect(new Set(tenants)).toEqual(new Set([a.id]));
    expect(copied.after).toBe(1);
  });

  it('stops a COPY read only in part, leaving a connection that rolls back and serves again', async () => {
    const big = 'copy (select repeat(md5(n::text), 20) from generate_series(1, 200000) as n) to stdout';
    const failure = new Error('the reader gave up');
    const started = Date.now();
    await expect(
      transactions.run(scopeOf(a), async (tx) => {
        const copy = tx.copyOut(big);
        try {
          for await (const chunk of copy.chunks()) {
            expect(chunk.length).toBeGreaterThan(0);
            throw failure;
          }
        } catch (error) {
          await copy.stop();
          throw error;
        }
      }),
    ).rejects.toBe(failure);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Both connections of the pool (size 2) still answer, in a transaction and alone.
    for (let round = 0; round < 4; round++) {
      expect(await visibleStoreTenants(scopeOf(a))).toContain(a.id);
      await transactions.run(scopeOf(a), (tx) => tx.query('select 1'));
    }
    expect(await pipelinedConnections()).toEqual([true, true]);
  });

  it('puts no connection back out of pipeline mode after a COPY that failed in PostgreSQL', async () => {
    await expect(
      transactions.run(scopeOf(a), async (tx) => {
        for await (const chunk of tx.copyOut('copy (select 1 / 0) to stdout').chunks())
          expect(chunk).toBeUndefined();
      }),
    ).rejects.toThrow('division by zero');
    expect(await pipelinedConnections()).toEqual([true, true]);
  });
});

/** `read` on each of the pool's two connections, both checked out together so neither is seen twice. */
async function onBothConnections<T>(read: (client: PoolClient) => Promise<T>): Promise<T[]> {
  const runners = [dataSource.createQueryRunner(), dataSource.createQueryRunner()];
  try {
    const clients = (await Promise.all(runners.map((runner) => runner.connect()))) as PoolClient[];
    const results: T[] = [];
    for (const client of clients) results.push(await read(client));
    return results;
  } finally {
    await Promise.all(runners.map((runner) => runner.release()));
  }
}

/**
 * Whether each of the pool's two connections is in pipeline mode: one left out of it would send
 * every later query a round trip at a time, through the queue pg 9 removes.
 */
const pipelinedConnections = (): Promise<boolean[]> =>
  onBothConnections((client) => Promise.resolve((client as unknown as { pipeline: boolean }).pipeline));
