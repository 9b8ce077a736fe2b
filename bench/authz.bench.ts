/**
 * `npm run bench:authz`: issue 5's figures. (1) Building an ability from the matrix and checking
 * it: a dealer_manager scoped to 20 stores (the principal's other memberships play no part in a
 * request: the guard compiles only the path tenant's), built uncached and from the cache, and
 * `can()` on rows in and out of scope. (2) A guarded list endpoint against the same query behind
 * the session guard only, in the same process and run, interleaved: what AccessGuard costs.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Param, UseGuards } from '@nestjs/common';
import { subject } from '@casl/ability';
import autocannon from 'autocannon';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Sessions, SessionGuard, AuthModule } from '@forecourt/auth';
import { abilityFor, type Actor, cachedAbilityFor, WithoutPolicy } from '@forecourt/authz';
import { loadConfig } from '@forecourt/config';
import { TenantTransaction } from '@forecourt/database';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../apps/api/src/create-app';
import { startBenchDatabase } from './bench-database';
import { machine } from './report';
import { median } from './measure';

const ROUNDS = 5;
const SECONDS = 5;
const CONNECTIONS = 10;
const STORES = 20;

/** The guarded route's query, behind the session guard only. */
@Controller('bench-authz')
@UseGuards(SessionGuard)
@WithoutPolicy('benchmark: the guarded list minus AccessGuard, mounted only by this bench')
class UnguardedStoresController {
  constructor(private readonly transactions: TenantTransaction) {}

  @Get(':tenantId/stores')
  async list(@Param('tenantId') tenantId: string) {
    const { rows } = await this.transactions.statement(
      { tenantId, stores: 'all' },
      `select id, name from stores where tenant_id = $1 and ($2::uuid is null or id > $2) order by id limit $3`,
      [tenantId, null, 51],
    );
    return { data: rows.slice(0, 50), nextCursor: null };
  }
}

@Module({ imports: [AuthModule], controllers: [UnguardedStoresController] })
class UnguardedModule {}

function micro(label: string, iterations: number, work: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) work(i); // warm-up
  const started = performance.now();
  for (let i = 0; i < iterations; i++) work(i);
  const microseconds = ((performance.now() - started) * 1000) / iterations;
  process.stderr.write(`${label}: ${microseconds.toFixed(3)} µs\n`);
  return microseconds;
}

async function load(url: string, token: string): Promise<number> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function main(): Promise<void> {
  // (1) The ability itself.
  const tenantId = '01a20957-0000-7000-8000-00000000000a';
  const storeIds = Array.from(
    { length: STORES },
    (_, i) => `01a20957-0000-7000-8000-${String(i).padStart(12, '0')}`,
  );
  const actor: Actor = {
    where: 'tenant',
    userId: '01a20957-0000-7000-8000-0000000000ff',
    platformRole: null,
    membership: { tenantId, role: 'dealer_manager', allStores: false, storeIds },
  };
  const build = micro('ability build (uncached)', 20_000, () => abilityFor(actor));
  const cached = micro('ability from the cache', 200_000, () => cachedAbilityFor(actor));
  const ability = abilityFor(actor);
  const rows = Array.from({ length: 64 }, (_, i) =>
    subject('Lead', { tenantId, storeId: i % 2 ? storeIds[i % STORES]! : `out-${i}` }),
  );
  const check = micro('can() on a row', 1_000_000, (i) => ability.can('read', rows[i % rows.length]!));

  // (2) Guarded vs unguarded list over HTTP.
  const db = await startBenchDatabase({ stores: STORES, admins: 1, members: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-bench-authz-'));
  try {
    const app = await createApp({
      config: loadConfig({
        LOG_LEVEL: 'silent',
        DATA_DIR: dataDir,
        MASTER_KEY: randomBytes(32).toString('base64'),
      }),
      runtimeDatabaseUrl: db.runtimeUrl,
      poolSize: CONNECTIONS,
      extraImports: [UnguardedModule],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.getHttpServer().address() as AddressInfo;
    const token = (await app.get(Sessions).issue(db.adminIds[0]!)).token;
    const guarded = `http://127.0.0.1:${port}/v1/tenants/${db.tenantId}/stores`;
    const unguarded = `http://127.0.0.1:${port}/bench-authz/${db.tenantId}/stores`;
    await load(guarded, token);
    await load(unguarded, token);
    const ratios: number[] = [];
    const guardedRates: number[] = [];
    const unguardedRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const without = await load(unguarded, token);
      const withGuard = await load(guarded, token);
      unguardedRates.push(without);
      guardedRates.push(withGuard);
      ratios.push(withGuard / without);
      process.stderr.write(
        `round ${round}: unguarded ${without.toFixed(0)}/s, guarded ${withGuard.toFixed(0)}/s\n`,
      );
    }
    await app.close();

    const perRequestUs = 1e6 / median(guardedRates); // wall time per request at this concurrency
    process.stdout.write(
      [
        `machine: ${machine(db.serverVersion)}`,
        '',
        '| figure | value |',
        '| --- | --- |',
        `| ability build, dealer_manager with ${STORES} stores, uncached | ${build.toFixed(1)} µs |`,
        `| ability from the cache (key built from the inputs) | ${cached.toFixed(2)} µs |`,
        `| can() on a row | ${check.toFixed(3)} µs (${(1 / check).toFixed(1)} million/s) |`,
        `| GET /v1/tenants/:t/stores, session only (baseline) | ${median(unguardedRates).toFixed(0)} req/s |`,
        `| GET /v1/tenants/:t/stores, session + AccessGuard | ${median(guardedRates).toFixed(0)} req/s |`,
        `| guarded ÷ unguarded (median of per-round ratios) | ${median(ratios).toFixed(2)}× |`,
        `| uncached build as a share of a guarded request's wall time at ${CONNECTIONS} connections | ${(((build / perRequestUs) * 100) / CONNECTIONS).toFixed(2)} % |`,
        '',
      ].join('\n'),
    );
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
