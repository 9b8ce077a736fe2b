import { Test, TestingModule } from '@nestjs/testing';
import canonicalize from 'canonicalize';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ClsModule } from 'nestjs-cls';
import { Pool } from 'pg';
import { v7 as newId } from 'uuid';
import {
  AuditCheckpoints,
  AuditLog,
  AuditModule,
  AuditSealer,
  AuditSigningKey,
  AuditTrail,
  csvHeader,
  type ExportRecord,
  formatRecord,
  PLATFORM_CHAIN,
  type VerifyReport,
  verifierKeys,
  verifyExport,
} from '@forecourt/audit';
import { ConfigModule, loadConfig } from '@forecourt/config';
import type { RequestContext } from '@forecourt/core';
import { CryptoModule } from '@forecourt/crypto';
import { DatabaseModule, TenantTransaction } from '@forecourt/database';
import { TENANT_ENTITIES } from '@forecourt/tenants';
import { createTestDatabase, inTenant, seedTenant, TestDatabase } from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

let db: TestDatabase;
let dataDir: string;
let moduleRef: TestingModule;
let trail: AuditTrail;
let sealer: AuditSealer;
let log: AuditLog;
let checkpoints: AuditCheckpoints;
let transactions: TenantTransaction;
let owner: Pool;
let runtime: Pool;
let admin: Pool;

const ctx = (requestId: string): RequestContext => ({
  requestId,
  ip: '203.0.113.9',
  userAgent: 'audit-spec',
  principal: { userId: newId(), sessionId: newId(), platformRole: null },
  tenant: null,
});

const masterKey = randomBytes(32).toString('base64');

/** One API instance's audit services (several may share the database, as several instances do). */
async function auditInstance(): Promise<TestingModule> {
  const instance = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(loadConfig({ DATA_DIR: dataDir, MASTER_KEY: masterKey, LOG_LEVEL: 'silent' })),
      ClsModule.forRoot({ global: true }),
      DatabaseModule.forRoot({
        url: db.runtimeUrl,
        entities: TENANT_ENTITIES,
        migrations: MIGRATIONS,
        poolSize: 8,
      }),
      CryptoModule,
      AuditModule.forRoot({ jobs: false }),
    ],
  }).compile();
  await instance.init();
  return instance;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'forecourt-audit-'));
  moduleRef = await auditInstance();
  trail = moduleRef.get(AuditTrail);
  sealer = moduleRef.get(AuditSealer);
  log = moduleRef.get(AuditLog);
  checkpoints = moduleRef.get(AuditCheckpoints);
  transactions = moduleRef.get(TenantTransaction);
  owner = new Pool({ connectionString: db.ownerUrl, max: 2 });
  runtime = new Pool({ connectionString: db.runtimeUrl, max: 2 });
  admin = new Pool({ connectionString: db.adminUrl, max: 2 });
});

afterAll(async () => {
  await moduleRef.close();
  await owner.end();
  await runtime.end();
  await admin.end();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A tenant of its own (its checkpoints are objects encrypted under its key, which needs the row). */
async function newTenant(): Promise<string> {
  const id = newId();
  await inTenant(runtime, { tenantId: id }, (client) =>
    client.query(`insert into tenants (id, slug, name) values ($1, $2, 'Chain Group')`, [
      id,
      `chain-${id.slice(-12)}`,
    ]),
  );
  return id;
}

/** A chain of `count` sealed events in a tenant of its own. */
async function chainOf(count: number): Promise<string> {
  const chain = await newTenant();
  for (let index = 0; index < count; index++) {
    await trail.record(ctx(`req-${index}`), chain, {
      action: 'user.read',
      subjectType: 'User',
      subjectId: newId(),
    });
  }
  await sealer.seal(chain, { wait: true });
  return chain;
}

interface Head {
  seq: number;
  hash: string;
}

async function headOf(chain: string): Promise<Head> {
  const { rows } = await admin.query<{ seq: string; hash: string }>(
    `select seq, encode(hash, 'hex') as hash from audit_heads where tenant_id = $1`,
    [chain],
  );
  return { seq: Number(rows[0]!.seq), hash: rows[0]!.hash };
}

interface SealedRow {
  tenantId: string;
  id: string;
  at: string;
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * A `system` read event numbered `seq` after `prevHash`, its hash computed here from the
 * documented formula — SHA-256(previous hash ‖ RFC 8785 JSON of the event and its seq) — so that
 * the verifier, not this test, judges it.
 */
function sealedRow(chain: string, seq: number, prevHash: string): SealedRow {
  const event = {
    tenantId: chain,
    id: newId(),
    at: new Date().toISOString(),
    actorId: null,
    actorRole: 'system',
    supportGrantId: null,
    action: 'user.read',
    subjectType: 'User',
    subjectId: null,
    subjectIds: null,
    storeId: null,
    requestId: null,
    ip: null,
    userAgent: null,
    outcome: 'allowed',
    reason: null,
    changedFields: null,
  };
  const hash = createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalize({ ...event, seq })!, 'utf8')
    .digest('hex');
  return { tenantId: chain, id: event.id, at: event.at, seq, prevHash, hash };
}

const INSERT_SEALED = `
  insert into audit_events (tenant_id, id, at, actor_role, action, subject_type, outcome, seq, prev_hash, hash)
  select r."tenantId", r.id, r.at, 'system', 'user.read', 'User', 'allowed', r.seq, decode(r."prevHash", 'hex'),
    decode(r.hash, 'hex')
  from jsonb_to_recordset($1::jsonb) as r("tenantId" uuid, id uuid, at timestamptz, seq bigint, "prevHash" text, hash text)`;

/** Sealed events inserted straight into `chain` as the runtime role, in one statement. */
function insertSealedAsRuntime(chain: string, rows: SealedRow[]): Promise<unknown> {
  return inTenant(runtime, { tenantId: chain }, (client) =>
    client.query(INSERT_SEALED, [JSON.stringify(rows)]),
  );
}

async function sealedCount(chain: string): Promise<{ sealed: number; unsealed: number }> {
  const { rows } = await admin.query<{ sealed: number; unsealed: number }>(
    `select count(seq)::int as sealed, (count(*) - count(seq))::int as unsealed
       from audit_events where tenant_id = $1`,
    [chain],
  );
  return rows[0]!;
}

const TRAIL_TABLES = ['audit_events', 'audit_heads', 'audit_checkpoints'];

/**
 * Runs `sql` as the schema owner after switching off what stands in its way — the append-only
 * triggers and forced row-level security, both of which the owner may alter: what a rogue owner
 * could do. Everything is switched back on afterwards.
 */
async function tamper(chain: string, sql: string | string[], params: unknown[] = []): Promise<void> {
  const client = await owner.connect();
  try {
    await client.query('begin');
    for (const table of TRAIL_TABLES) {
      await client.query(`alter table ${table} disable trigger user`);
      await client.query(`alter table ${table} no force row level security`);
    }
    for (const statement of [sql].flat()) await client.query(statement, [chain, ...params]);
    for (const table of TRAIL_TABLES) {
      await client.query(`alter table ${table} enable trigger user`);
      await client.query(`alter table ${table} force row level security`);
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The chain exported once and verified offline, as a tenant holding the public key would: the
 * JSONL export as it came, and the same records rendered as CSV. (One export: each export is
 * itself recorded in the chain, so a second one would see one event more.)
 */
async function verifyOffline(chain: string): Promise<{ jsonl: VerifyReport; csv: VerifyReport }> {
  const lines: string[] = [];
  for await (const line of await log.export(ctx('export'), chain, 'jsonl')) lines.push(line);
  const csv = [csvHeader(), ...lines.map((line) => formatRecord('csv', JSON.parse(line) as ExportRecord))];
  const keys = verifierKeys((await moduleRef.get(AuditSigningKey).published()).map((key) => key.verifierKey));
  return {
    jsonl: await verifyExport(Readable.from([lines.join('')]), 'jsonl', keys),
    csv: await verifyExport(Readable.from([csv.join('')]), 'csv', keys),
  };
}

describe('sealing', () => {
  it('numbers a chain from 1 without gaps and links every event to the one before', async () => {
    const count = 250; // more than two of the sealer's hashing slices in one seal
    const chain = await chainOf(count);
    const { rows } = await admin.query<{ seq: string; prev: string; hash: string }>(
      `select seq, encode(prev_hash, 'hex') as prev, encode(hash, 'hex') as hash
         from audit_events where tenant_id = $1 order by seq`,
      [chain],
    );
    expect(rows.map((row) => Number(row.seq))).toEqual(
      Array.from({ length: count }, (_, index) => index + 1),
    );
    expect(rows[0]!.prev).toBe('0'.repeat(64));
    for (let index = 1; index < rows.length; index++) expect(rows[index]!.prev).toBe(rows[index - 1]!.hash);
    expect(await log.verify(chain)).toMatchObject({
      ok: true,
      verifiedThroughSeq: count,
      firstInvalidSeq: null,
    });
  });

  it('seals an event whose transaction committed after later ones were sealed, instead of skipping it', async () => {
    const chain = await chainOf(3);
    // A writer holds its transaction open while others commit and get sealed.
    const late = await runtime.connect();
    try {
      await late.query('begin');
      await late.query(`select set_config('app.tenant_id', $1, true)`, [chain]);
      const lateId = newId(); // generated first: the smallest id and the earliest time of the batch
      await late.query(
        `insert into audit_events (tenant_id, id, at, actor_role, action, subject_type, outcome)
         values ($1, $2, now() - interval '1 minute', 'system', 'user.read', 'User', 'allowed')`,
        [chain, lateId],
      );
      await trail.record(ctx('on-time'), chain, { action: 'user.read', subjectType: 'User' });
      await sealer.seal(chain, { wait: true });
      await late.query('commit');
      await sealer.seal(chain, { wait: true });
      const { rows } = await admin.query<{ seq: string }>(
        'select seq from audit_events where tenant_id = $1 and id = $2',
        [chain, lateId],
      );
      expect(rows[0]?.seq).toBe('5');
    } finally {
      late.release();
    }
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 5 });
  });

  it('keeps the chain whole under 20 concurrent writers on one tenant while sealers run', async () => {
    const tenant = { id: newId() };
    await inTenant(runtime, { tenantId: tenant.id }, (client) =>
      client.query(`insert into tenants (id, slug, name) values ($1, $2, 'Busy Group')`, [
        tenant.id,
        `busy-${tenant.id.slice(-8)}`,
      ]),
    );
    const scope = { tenantId: tenant.id, stores: 'all' as const };
    const written: string[] = [];
    const until = Date.now() + 3_000;
    let sealing = true;
    const sealers = [0, 1].map(async () => {
      while (sealing) {
        await sealer.sealAll();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await Promise.all(
      Array.from({ length: 20 }, async (_, writer) => {
        for (let round = 0; Date.now() < until; round++) {
          const id = newId();
          // A write with its event in one transaction, and a read event through the group commit.
          await transactions.run(scope, async (tx) => {
            await tx.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
              tenant.id,
              id,
              `w${writer}-${round}`,
            ]);
            await trail.append(tx, ctx(`w-${id}`), {
              action: 'store.create',
              subjectType: 'Store',
              subjectId: id,
            });
          });
          await trail.record(ctx(`r-${id}`), tenant.id, {
            action: 'store.read',
            subjectType: 'Store',
            subjectId: id,
          });
          written.push(id);
        }
      }),
    );
    sealing = false;
    await Promise.all(sealers);
    await sealer.seal(tenant.id, { wait: true });

    expect(written.length).toBeGreaterThan(100);
    const { rows } = await admin.query<{ count: string; max: string; sealed: string; stores: string }>(
      `select count(*) as count, max(seq) as max, count(seq) as sealed,
              (select count(*) from stores where tenant_id = $1) as stores
         from audit_events where tenant_id = $1`,
      [tenant.id],
    );
    const expected = written.length * 2;
    expect(Number(rows[0]!.count)).toBe(expected);
    expect(Number(rows[0]!.sealed)).toBe(expected);
    expect(Number(rows[0]!.max)).toBe(expected); // seq 1..n: no gaps, no duplicates (unique)
    const missing = await admin.query(
      `select w.id from unnest($2::text[]) as w(id)
        where (select count(*) from audit_events e where e.tenant_id = $1 and e.subject_id = w.id) <> 2`,
      [tenant.id, written],
    );
    expect(missing.rows).toEqual([]);
    expect(Number(rows[0]!.stores)).toBe(written.length);
    expect(await log.verify(tenant.id)).toMatchObject({ ok: true, verifiedThroughSeq: expected });
  });
});

describe('sealed by the group commit', () => {
  const read = (requestId: string) => ({ action: 'user.read', subjectType: 'User', subjectId: requestId });

  it('a read event goes in already sealed, so the sealer has nothing left to rewrite', async () => {
    const chain = await chainOf(2); // the sealer has run: this instance knows where the chain ends
    for (const id of ['a', 'b', 'c']) await trail.record(ctx(id), chain, read(id));
    expect(await sealedCount(chain)).toEqual({ sealed: 5, unsealed: 0 });
    expect(await headOf(chain)).toMatchObject({ seq: 5 });
    expect(await sealer.seal(chain, { wait: true })).toBe(0);
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 5 });
  });

  it('many reads of one chain at once: one batch in flight at a time, so every one goes in sealed', async () => {
    const chain = await chainOf(2);
    const ids = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    await Promise.all(ids.map((id) => trail.record(ctx(id), chain, read(id))));
    expect(await sealedCount(chain)).toEqual({ sealed: 62, unsealed: 0 });
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 62 });
  });

  it('reads of many chains at once all commit, each chain whole', async () => {
    const chains = await Promise.all(Array.from({ length: 12 }, () => chainOf(1)));
    await Promise.all(
      chains.flatMap((chain) =>
        ['x', 'y', 'z'].map((id) => trail.record(ctx(`${chain}-${id}`), chain, read(id))),
      ),
    );
    for (const chain of chains) {
      expect(await sealedCount(chain)).toEqual({ sealed: 4, unsealed: 0 });
      expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 4 });
    }
  });

  it('a chain another instance moved on: the batch goes in unsealed, the next one sealed again', async () => {
    const other = await auditInstance();
    try {
      const chain = await chainOf(2);
      await other.get(AuditSealer).seal(chain, { wait: true }); // both instances know seq 2
      await trail.record(ctx('here'), chain, read('here')); // seq 3, sealed here
      await other.get(AuditTrail).record(ctx('there'), chain, read('there')); // still thinks 2
      expect(await sealedCount(chain)).toEqual({ sealed: 3, unsealed: 1 });
      await other.get(AuditTrail).record(ctx('there-again'), chain, read('there-again')); // learned 3
      expect(await sealedCount(chain)).toEqual({ sealed: 4, unsealed: 1 });
      expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 5 });
    } finally {
      await other.close();
    }
  });

  it('a head that moves while the insert waits for it: the batch goes in unsealed, the chain stays one line', async () => {
    const chain = await chainOf(2);
    const head = await headOf(chain);
    // Another writer seals seq 3 and moves the head, its transaction still open: the group
    // commit's statement finds the seal lock free and the head at 2 in its snapshot, and waits for
    // the head row.
    const writer = await runtime.connect();
    try {
      await writer.query('begin');
      await writer.query(`select set_config('app.tenant_id', $1, true)`, [chain]);
      const row = sealedRow(chain, head.seq + 1, head.hash);
      await writer.query(INSERT_SEALED, [JSON.stringify([row])]);
      await writer.query(`update audit_heads set seq = $2, hash = decode($3, 'hex') where tenant_id = $1`, [
        chain,
        row.seq,
        row.hash,
      ]);
      const recorded = trail.record(ctx('raced'), chain, read('raced'));
      await waitForLockWait();
      await writer.query('commit');
      await recorded; // no error for the reader
    } finally {
      writer.release();
    }
    expect(await sealedCount(chain)).toEqual({ sealed: 3, unsealed: 1 });
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 4 });
  });

  it('a sealed event the runtime role puts out of line is found by verify at its place', async () => {
    const chain = await chainOf(3);
    const head = await headOf(chain);
    await insertSealedAsRuntime(chain, [sealedRow(chain, head.seq + 1, 'ab'.repeat(32))]);
    expect(await log.verify(chain)).toMatchObject({ ok: false, firstInvalidSeq: 4 });
  });

  it('events whose ids PostgreSQL would rewrite (upper case) go in unsealed, and verify once sealed', async () => {
    const chain = await chainOf(1);
    await trail.record(ctx('upper'), chain.toUpperCase(), read('upper'));
    expect(await sealedCount(chain)).toEqual({ sealed: 1, unsealed: 1 });
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 2 });
  });
});

/** Waits until some session of the test database waits on a lock. */
async function waitForLockWait(): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await admin.query<{ waiting: number }>(
      `select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (rows[0]!.waiting > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no session came to wait on a lock');
}

describe('all or nothing', () => {
  it('a transaction that fails after its write leaves neither the write nor its event', async () => {
    const tenant = await seedTenant(runtime, 'failing');
    // The seed's data key is random filler; checkpoints are encrypted under a real one, made on first use.
    await admin.query('delete from tenant_keys where tenant_id = $1', [tenant.id]);
    const id = newId();
    await expect(
      transactions.run({ tenantId: tenant.id, stores: 'all' }, async (tx) => {
        await tx.query('insert into stores (tenant_id, id, name) values ($1, $2, $3)', [
          tenant.id,
          id,
          'Doomed',
        ]);
        await trail.append(tx, ctx('doomed'), {
          action: 'store.create',
          subjectType: 'Store',
          subjectId: id,
        });
        throw new Error('fails after the write');
      }),
    ).rejects.toThrow('fails after the write');
    const left = await admin.query(
      `select (select count(*) from stores where id = $1)::int as stores,
              (select count(*) from audit_events where subject_id = $1::text)::int as events`,
      [id],
    );
    expect(left.rows[0]).toEqual({ stores: 0, events: 0 });
  });
});

describe('append-only', () => {
  let chain: string;
  beforeAll(async () => {
    chain = await chainOf(3);
    // A write's event: unsealed until the sealer comes (a read's would most likely go in sealed).
    await transactions.run({ tenantId: chain, stores: 'all' }, (tx) =>
      trail.append(tx, ctx('unsealed'), { action: 'user.update', subjectType: 'User' }),
    );
  });

  const asRuntime = (sql: string) =>
    inTenant(runtime, { tenantId: chain }, (client) => client.query(sql, sql.includes('$1') ? [chain] : []));

  it.each([
    [
      'change a sealed event',
      `update audit_events set action = 'user.list' where tenant_id = $1 and seq = 2`,
    ],
    ['renumber a sealed event', `update audit_events set seq = seq + 100 where tenant_id = $1 and seq = 2`],
    [
      'change an unsealed event',
      `update audit_events set action = 'user.list' where tenant_id = $1 and seq is null`,
    ],
    ['delete an event', `delete from audit_events where tenant_id = $1`],
    ['truncate the trail', `truncate audit_events`],
    ['move a chain head back', `update audit_heads set seq = 1 where tenant_id = $1`],
    ['delete a checkpoint', `delete from audit_checkpoints where tenant_id = $1`],
    ['truncate the checkpoints', `truncate audit_checkpoints`],
  ])('the runtime role cannot %s', async (_what, sql) => {
    await expect(asRuntime(sql)).rejects.toThrow(/permission denied|append-only/);
  });

  it.each([
    [
      'change a sealed event',
      `update audit_events set action = 'user.list' where tenant_id = $1 and seq = 2`,
    ],
    ['delete an event', `delete from audit_events where tenant_id = $1 and seq = 2`],
    ['truncate the trail', `truncate audit_events`],
  ])('not even a superuser can %s while the triggers are on', async (_what, sql) => {
    await expect(admin.query(sql, sql.includes('$1') ? [chain] : [])).rejects.toThrow(/append-only/);
  });

  it('the runtime role cannot insert a second event at a sealed place (a fork)', async () => {
    const head = await headOf(chain);
    await expect(insertSealedAsRuntime(chain, [sealedRow(chain, head.seq, head.hash)])).rejects.toThrow(
      /duplicate key value violates unique constraint "audit_events_seq_key"/,
    );
    expect(await headOf(chain)).toEqual(head);
  });

  it('the one update allowed is the seal itself, and only from unsealed', async () => {
    await expect(
      asRuntime(
        `update audit_events set seq = 99, prev_hash = '\\x${'00'.repeat(32)}', hash = '\\x${'11'.repeat(32)}',
           reason = 'smuggled' where tenant_id = $1 and seq is null`,
      ),
    ).rejects.toThrow(/permission denied|append-only/);
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 4 });
  });
});

describe('tampering as the database owner', () => {
  /**
   * Broken at `firstInvalidSeq` online, and offline at `offlineSeq`: the same place, except where
   * the chain was cut at its end and the export's own event, appended after the cut, fills it.
   */
  async function expectBroken(chain: string, firstInvalidSeq: number, offlineSeq = firstInvalidSeq) {
    expect(await log.verify(chain)).toMatchObject({ ok: false, firstInvalidSeq });
    const offline = await verifyOffline(chain);
    expect(offline.jsonl).toMatchObject({ ok: false, firstInvalidSeq: offlineSeq });
    expect(offline.csv).toMatchObject({ ok: false, firstInvalidSeq: offlineSeq });
  }

  it('an untouched chain verifies online and offline', async () => {
    const chain = await chainOf(10);
    await checkpoints.checkpoint(chain);
    expect(await log.verify(chain)).toMatchObject({
      ok: true,
      verifiedThroughSeq: 10,
      checkpointsChecked: 1,
    });
    // The export's own event is its last line.
    const offline = await verifyOffline(chain);
    expect(offline.jsonl).toMatchObject({ ok: true, verifiedThroughSeq: 11, checkpointsChecked: 1 });
    expect(offline.csv).toMatchObject({ ok: true, verifiedThroughSeq: 11, checkpointsChecked: 1 });
  });

  it('keeps the outside copies encrypted under the tenant key, and skips one that does not open', async () => {
    const chain = await chainOf(4);
    const checkpoint = (await checkpoints.checkpoint(chain))!;
    const folder = join(dataDir, 'objects', 'tenants', chain, 'audit', 'checkpoints');
    const [file] = readdirSync(folder);
    const atRest = readFileSync(join(folder, file!));
    expect(atRest.subarray(0, 4).toString()).toBe('FCS1');
    expect(atRest.includes(Buffer.from(checkpoint.hash))).toBe(false);
    expect(atRest.includes(Buffer.from(Buffer.from(checkpoint.hash, 'hex').toString('base64')))).toBe(false);
    writeFileSync(join(folder, '0000000000000001-legacy.note'), checkpoint.note);
    expect(await log.verify(chain)).toMatchObject({ ok: true, verifiedThroughSeq: 4, checkpointsChecked: 1 });
  });

  it('changing one field of one event is found at that event', async () => {
    const chain = await chainOf(10);
    await tamper(chain, `update audit_events set ip = '198.51.100.1' where tenant_id = $1 and seq = 6`);
    await expectBroken(chain, 6);
  });

  it('changing a field and writing some other hash for it is found at that event', async () => {
    const chain = await chainOf(10);
    const { rows } = await admin.query<{ hash: string }>(
      `select encode(hash, 'hex') as hash from audit_events where tenant_id = $1 and seq = 4`,
      [chain],
    );
    await tamper(
      chain,
      `update audit_events set reason = 'rewritten', hash = decode($2, 'hex') where tenant_id = $1 and seq = 4`,
      [rows[0]!.hash.replace(/^./, (c) => (c === '0' ? '1' : '0'))],
    );
    await expectBroken(chain, 4);
  });

  it('deleting one event in the middle is found where it was', async () => {
    const chain = await chainOf(10);
    await tamper(chain, `delete from audit_events where tenant_id = $1 and seq = 5`);
    await expectBroken(chain, 5);
  });

  it('reordering two events is found at the first of them', async () => {
    const chain = await chainOf(10);
    await tamper(chain, [
      `update audit_events set seq = 1000 where tenant_id = $1 and seq = 3`,
      `update audit_events set seq = 3 where tenant_id = $1 and seq = 7`,
      `update audit_events set seq = 7 where tenant_id = $1 and seq = 1000`,
    ]);
    await expectBroken(chain, 3);
  });

  it('deleting the last events is found against the recorded head', async () => {
    const chain = await chainOf(10);
    await tamper(chain, `delete from audit_events where tenant_id = $1 and seq > 7`);
    expect(await log.verify(chain)).toMatchObject({ ok: false, firstInvalidSeq: 8 });
  });

  it('truncating the newest events after a checkpoint is found, even with the head and the checkpoints in the database rewritten', async () => {
    const chain = await chainOf(10);
    await checkpoints.checkpoint(chain);
    await tamper(
      chain,
      `with gone as (delete from audit_events where tenant_id = $1 and seq > 7 returning 1),
            head as (update audit_heads h set seq = 7, hash = e.hash from audit_events e
                      where h.tenant_id = $1 and e.tenant_id = $1 and e.seq = 7 returning 1)
       delete from audit_checkpoints where tenant_id = $1`,
    );
    // The copy in object storage still names seq 10; offline, the export's event took seq 8.
    await expectBroken(chain, 8, 9);
  });

  it('a forged checkpoint (not signed by the audit key) fails verification', async () => {
    const chain = await chainOf(4);
    const real = (await checkpoints.checkpoint(chain))!;
    const forged = real.note.replace(/^4$/m, '3');
    await tamper(
      chain,
      `insert into audit_checkpoints (tenant_id, id, seq, hash, signed_at, key_id, note)
       values ($1, $2, 3, decode($3, 'hex'), now(), $4, $5)`,
      [newId(), real.hash, 'forged', forged],
    );
    expect(await log.verify(chain)).toMatchObject({ ok: false, firstInvalidSeq: 3 });
  });
});

describe('chains', () => {
  it('the platform chain takes what no tenant owns, and the checkpoint job signs every chain that moved', async () => {
    await trail.record(ctx('platform'), null, {
      action: 'auth.login.failed',
      subjectType: 'User',
      outcome: 'denied',
    });
    const chain = await chainOf(2);
    await sealer.sealAll();
    expect(await checkpoints.checkpointAll()).toBeGreaterThanOrEqual(2);
    expect(await checkpoints.checkpointAll()).toBe(0);
    expect((await checkpoints.list(chain, 10)).map((checkpoint) => checkpoint.seq)).toEqual([2]);
    expect(await log.verify(PLATFORM_CHAIN)).toMatchObject({ ok: true });
    expect((await log.chains()).includes(chain)).toBe(true);
  });

  it("a person's events reach the platform chain when no live tenant holds them", async () => {
    const tenant = await seedTenant(runtime, 'closing');
    // The seed's data key is random filler; checkpoints are encrypted under a real one, made on first use.
    await admin.query('delete from tenant_keys where tenant_id = $1', [tenant.id]);
    const person = tenant.userIds[0]!;
    const signIn = { action: 'auth.login.succeeded', subjectType: 'User' } as const;
    const chainsOf = async (requestId: string) =>
      (
        await admin.query<{ tenant_id: string }>(
          'select tenant_id from audit_events where request_id = $1 order by tenant_id',
          [requestId],
        )
      ).rows.map((row) => row.tenant_id);

    await trail.appendAboutPerson(null, ctx('while-open'), person, signIn);
    expect(await chainsOf('while-open')).toEqual([tenant.id]);
    await admin.query(`update tenants set status = 'deleted' where id = $1`, [tenant.id]);
    await trail.appendAboutPerson(null, ctx('after-deletion'), person, signIn);
    expect(await chainsOf('after-deletion')).toEqual([PLATFORM_CHAIN]);
  });

  it('a tenant context never reads another chain', async () => {
    const mine = await chainOf(2);
    const theirs = await chainOf(2);
    const { rows } = await inTenant(runtime, { tenantId: mine }, (client) =>
      client.query<{ tenant_id: string }>('select distinct tenant_id from audit_events'),
    );
    expect(rows).toEqual([{ tenant_id: mine }]);
    await expect(
      inTenant(runtime, { tenantId: mine }, (client) =>
        client.query(
          `insert into audit_events (tenant_id, id, at, actor_role, action, subject_type, outcome)
           values ($1, $2, now(), 'system', 'user.read', 'User', 'allowed')`,
          [theirs, newId()],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});
