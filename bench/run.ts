/**
 * `npm run bench`: starts a throw-away embedded PostgreSQL, prepares a migrated and seeded
 * database, runs every load row several times (interleaved, so drift hits all rows alike), times
 * the API's start-up, and prints a table whose first rows are the baselines the others are
 * compared with. It writes no file. See docs/performance.md.
 */
import 'reflect-metadata';
import { startBenchDatabase } from './bench-database';
import { HttpReadBench, ReadRoute } from './http-read.bench';
import { LoadSettings, median, Sample } from './measure';
import { PgReadBench } from './pg-read.bench';
import { machine, renderTable, ReportRow } from './report';
import { benchStartup } from './startup.bench';

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

const ROUNDS = setting('BENCH_ROUNDS', 5);
const LOAD: LoadSettings = {
  connections: setting('BENCH_CONNECTIONS', 10),
  warmupSeconds: 1,
  seconds: setting('BENCH_SECONDS', 5),
};
/** The runtime pools (TypeORM's and the raw route's): one connection per HTTP connection. */
const POOL_SIZE = LOAD.connections;
const STORE_COUNT = 5_000;
const STARTUP_RUNS = { fresh: 3, existing: 5 };
/** Issue 2's figure: the tenant transaction against the raw read. */
const TENANT_TARGET = 0.85;

const HTTP_ROWS: { id: string; route: ReadRoute; label: string }[] = [
  { id: '2', route: 'raw', label: 'HTTP: raw pg pool, no tenant transaction' },
  { id: '3', route: 'tenant-statement', label: 'HTTP: TenantTransaction.statement()' },
  { id: '4', route: 'tenant-run', label: 'HTTP: TenantTransaction.run() + tx.query()' },
];

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function logged(label: string, sample: Sample): Sample {
  const cpu = sample.cpuPerOp === undefined ? '' : `, API CPU ${sample.cpuPerOp.toFixed(0)} µs/op`;
  progress(`  ${label}: ${sample.opsPerSecond.toFixed(0)} ops/s, p50 ${sample.p50.toFixed(2)} ms${cpu}`);
  return sample;
}

async function main(): Promise<void> {
  progress(`starting embedded PostgreSQL, seeding ${STORE_COUNT} stores`);
  const database = await startBenchDatabase(STORE_COUNT);
  // The embedded server runs in its own process group: a Ctrl-C must stop it here.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void database.close().finally(() => process.exit(130)));
  }
  const databaseRow = {
    kind: 'load' as const,
    id: '1',
    label: `database: PK read, ${LOAD.connections} pg clients, no HTTP`,
    samples: [] as Sample[],
  };
  const httpRows = HTTP_ROWS.map((row) => ({ ...row, kind: 'load' as const, samples: [] as Sample[] }));
  try {
    const pg = await PgReadBench.open(database.admin, LOAD.connections, database.tenantId, database.storeIds);
    const http = await HttpReadBench.start(
      { runtimeUrl: database.runtimeUrl, tenantId: database.tenantId, poolSize: POOL_SIZE },
      database.storeIds,
    );
    try {
      await http.check(HTTP_ROWS.map((row) => row.route));
      // Once, unrecorded: the API's code paths are still being compiled at first, and the row that
      // runs first in round 1 would pay for it.
      progress('warming up the API');
      for (const { route } of HTTP_ROWS) await http.run(route, { ...LOAD, seconds: 2 });
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`round ${round}/${ROUNDS}`);
        databaseRow.samples.push(logged('database', await pg.run(LOAD)));
        for (const row of httpRows) row.samples.push(logged(row.route, await http.run(row.route, LOAD)));
      }
    } finally {
      await http.stop();
      await pg.close();
    }
  } finally {
    await database.close();
  }

  progress(`timing start-up (${STARTUP_RUNS.fresh} fresh, ${STARTUP_RUNS.existing} existing DATA_DIR)`);
  const startup = await benchStartup(STARTUP_RUNS.fresh, STARTUP_RUNS.existing);

  const rows: ReportRow[] = [
    databaseRow,
    ...httpRows,
    {
      kind: 'time',
      id: '5a',
      label: `start → ready, fresh DATA_DIR (ms, n=${startup.freshRuns})`,
      milliseconds: startup.freshMs,
    },
    {
      kind: 'time',
      id: '5b',
      label: `start → ready, existing DATA_DIR (ms, n=${startup.existingRuns})`,
      milliseconds: startup.existingMs,
    },
  ];
  console.log(`Forecourt bench — ${machine(database.serverVersion)}`);
  console.log(
    `${LOAD.connections} connections, pools of ${POOL_SIZE}, ${STORE_COUNT} stores; ` +
      `${LOAD.warmupSeconds} s warm-up + ${LOAD.seconds} s per run; median of ${ROUNDS} interleaved rounds\n`,
  );
  console.log(renderTable(rows, databaseRow.id, '2'));

  const [raw, statement] = httpRows;
  const tenantRatio = median(
    statement!.samples.map((sample, round) => sample.opsPerSecond / raw!.samples[round]!.opsPerSecond),
  );
  const verdict = tenantRatio >= TENANT_TARGET ? 'meets' : 'BELOW';
  console.log(
    `\nTenantTransaction.statement / raw read: ${tenantRatio.toFixed(2)}× (${verdict} the ≥ ${TENANT_TARGET}× target)`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
