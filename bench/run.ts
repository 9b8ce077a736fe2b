/**
 * `npm run bench`: starts a throw-away embedded PostgreSQL, prepares a migrated and seeded
 * database, runs every load row several times (interleaved, so drift hits all rows alike), times
 * sign-ins and the API's start-up, and prints a table whose first rows are the baselines the
 * others are compared with. It writes no file. See docs/performance.md.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PasswordHasher } from '@forecourt/auth';
import { startBenchDatabase } from './bench-database';
import { HttpReadBench, HttpTarget, ReadRoute } from './http-read.bench';
import { LoadSettings, median, quantile, Sample } from './measure';
import { PgReadBench } from './pg-read.bench';
import { Baseline, machine, renderTable, ReportRow, roundRatio } from './report';
import { SignInBench, SignInTiming } from './sign-in.bench';
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
/** Login + MFA verify round trips, spread evenly over the rounds. */
const SIGN_INS = setting('BENCH_SIGNINS', 200);
/** Each owner's ten recovery codes are ten round trips; each HTTP connection gets its own session. */
const OWNERS = Math.max(Math.ceil(SIGN_INS / 10), LOAD.connections);
const ARGON2_RUNS = 20;

const DATABASE_ROW = '1';
const RAW_ROW = '2';
const LIVE_ROW = '6';
const ME_ROW = '7';
const SIGN_IN_ROW = '8';
const BASELINES: Baseline[] = [
  { id: DATABASE_ROW, title: '× database' },
  { id: RAW_ROW, title: '× HTTP raw' },
  { id: LIVE_ROW, title: '× /health/live' },
];

const READ_ROWS: { id: string; route: ReadRoute; label: string; against: string[] }[] = [
  {
    id: RAW_ROW,
    route: 'raw',
    label: 'HTTP: raw pg pool, no tenant transaction',
    against: [DATABASE_ROW],
  },
  {
    id: '3',
    route: 'tenant-statement',
    label: 'HTTP: TenantTransaction.statement()',
    against: [DATABASE_ROW, RAW_ROW],
  },
  {
    id: '4',
    route: 'tenant-run',
    label: 'HTTP: TenantTransaction.run() + tx.query()',
    against: [DATABASE_ROW, RAW_ROW],
  },
];

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function logged(label: string, sample: Sample): Sample {
  const cpu = sample.cpuPerOp === undefined ? '' : `, API CPU ${sample.cpuPerOp.toFixed(0)} µs/op`;
  progress(`  ${label}: ${sample.opsPerSecond.toFixed(0)} ops/s, p50 ${sample.p50.toFixed(2)} ms${cpu}`);
  return sample;
}

/** How many of `total` sign-ins round `round` (1-based) runs: as even as possible. */
function signInsInRound(round: number): number {
  return Math.floor(SIGN_INS / ROUNDS) + (round <= SIGN_INS % ROUNDS ? 1 : 0);
}

/** One round's sign-ins as a sample: round trips per second (sequential) and API CPU per round trip. */
async function signInSample(http: HttpReadBench, signIn: SignInBench, count: number) {
  const started = performance.now();
  const { result: timings, cpuMicros } = await http.measureCpu(() => signIn.run(count));
  const seconds = (performance.now() - started) / 1000;
  const totals = timings.map((timing) => timing.total).sort((a, b) => a - b);
  const sample: Sample = {
    opsPerSecond: count / seconds,
    p50: quantile(totals, 0.5),
    p99: quantile(totals, 0.99),
    cpuPerOp: cpuMicros / count,
  };
  return { sample, timings };
}

/** argon2id verify with the app's own parameters, in this process, while the API is idle. */
async function argon2VerifyMs(): Promise<number> {
  const hasher = new PasswordHasher();
  const hash = await hasher.hash('bench password that is long enough');
  const times: number[] = [];
  for (let run = 0; run < ARGON2_RUNS; run++) {
    const started = performance.now();
    if (!(await hasher.verify(hash, 'bench password that is long enough')))
      throw new Error('argon2 mismatch');
    times.push(performance.now() - started);
  }
  return median(times);
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
    id: DATABASE_ROW,
    label: `database: PK read, ${LOAD.connections} pg clients, no HTTP`,
    samples: [] as Sample[],
  };
  const readRows = READ_ROWS.map((row) => ({ ...row, kind: 'load' as const, samples: [] as Sample[] }));
  const liveRow = {
    kind: 'load' as const,
    id: LIVE_ROW,
    label: 'HTTP: GET /health/live, no auth, no database',
    samples: [] as Sample[],
  };
  const meRow = {
    kind: 'load' as const,
    id: ME_ROW,
    label: 'HTTP: GET /v1/auth/me, Bearer session',
    samples: [] as Sample[],
    against: [LIVE_ROW],
  };
  const signInRow = {
    kind: 'load' as const,
    id: SIGN_IN_ROW,
    label: `login + MFA verify round trip, sequential (n=${SIGN_INS})`,
    samples: [] as Sample[],
    latencies: [] as number[],
  };
  const signInTimings: SignInTiming[] = [];
  let argon2Ms = Number.NaN;
  try {
    const pg = await PgReadBench.open(database.admin, LOAD.connections, database.tenantId, database.storeIds);
    const apis: HttpReadBench[] = [];
    try {
      // Two identical API processes: rows 2–4 never share theirs with the sign-in traffic, which
      // leaves the process measurably slower for the read routes afterwards (see docs/performance.md).
      const settings = {
        runtimeUrl: database.runtimeUrl,
        tenantId: database.tenantId,
        poolSize: POOL_SIZE,
        masterKey: randomBytes(32).toString('base64'),
      };
      progress('starting the API for rows 2–4');
      const readApi = await HttpReadBench.start({ ...settings, owners: 0 }, database.storeIds);
      apis.push(readApi);
      progress(`starting the API for rows 6–8, creating ${OWNERS} platform owners`);
      const authApi = await HttpReadBench.start({ ...settings, owners: OWNERS }, database.storeIds);
      apis.push(authApi);
      await readApi.check(READ_ROWS.map((row) => row.route));
      progress(`enrolling MFA for ${OWNERS} owners (login, enroll, verify)`);
      const signIn = await SignInBench.enroll(authApi.origin, authApi.owners);
      const targets: { row: { samples: Sample[] }; name: string; api: HttpReadBench; target: HttpTarget }[] =
        [
          ...readRows.map((row) => ({
            row,
            name: row.route,
            api: readApi,
            target: readApi.readTarget(row.route),
          })),
          { row: liveRow, name: 'health/live', api: authApi, target: { path: '/health/live' } },
          {
            row: meRow,
            name: 'auth/me',
            api: authApi,
            target: { path: '/v1/auth/me', bearerTokens: signIn.tokens },
          },
        ];
      // Once, unrecorded: the API's code paths are still being compiled at first, and the row that
      // runs first in round 1 would pay for it. (Enrolling has warmed the sign-in path.)
      progress('warming up the APIs');
      for (const { api, target } of targets) await api.run(target, { ...LOAD, seconds: 2 });
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`round ${round}/${ROUNDS}`);
        databaseRow.samples.push(logged('database', await pg.run(LOAD)));
        for (const { row, name, api, target } of targets)
          row.samples.push(logged(name, await api.run(target, LOAD)));
        const count = signInsInRound(round);
        if (count > 0) {
          const { sample, timings } = await signInSample(authApi, signIn, count);
          signInRow.samples.push(logged(`${count} sign-ins`, sample));
          signInRow.latencies.push(...timings.map((timing) => timing.total));
          signInTimings.push(...timings);
        }
      }
      progress(`timing argon2id verify alone (${ARGON2_RUNS} runs)`);
      argon2Ms = await argon2VerifyMs();
    } finally {
      for (const api of apis) await api.stop();
      await pg.close();
    }
  } finally {
    await database.close();
  }

  progress(`timing start-up (${STARTUP_RUNS.fresh} fresh, ${STARTUP_RUNS.existing} existing DATA_DIR)`);
  const startup = await benchStartup(STARTUP_RUNS.fresh, STARTUP_RUNS.existing);

  const rows: ReportRow[] = [
    databaseRow,
    ...readRows,
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
    liveRow,
    meRow,
    ...(signInRow.samples.length ? [signInRow] : []),
  ];
  console.log(`Forecourt bench — ${machine(database.serverVersion)}`);
  console.log(
    `${LOAD.connections} connections, pools of ${POOL_SIZE}, ${STORE_COUNT} stores; ` +
      `${LOAD.warmupSeconds} s warm-up + ${LOAD.seconds} s per run; median of ${ROUNDS} interleaved rounds; ` +
      `${SIGN_INS} sign-ins one at a time, spread over the rounds\n`,
  );
  console.log(renderTable(rows, BASELINES));

  const [raw, statement] = readRows;
  const tenantRatio = roundRatio(statement!.samples, raw!.samples);
  const verdict = tenantRatio >= TENANT_TARGET ? 'meets' : 'BELOW';
  console.log(
    `\nTenantTransaction.statement / raw read: ${tenantRatio.toFixed(2)}× (${verdict} the ≥ ${TENANT_TARGET}× target)`,
  );
  console.log(
    `GET /v1/auth/me / GET /health/live: ${roundRatio(meRow.samples, liveRow.samples).toFixed(2)}×`,
  );
  if (signInTimings.length) {
    const p = (values: number[], q: number) =>
      quantile(
        [...values].sort((a, b) => a - b),
        q,
      ).toFixed(1);
    const logins = signInTimings.map((timing) => timing.login);
    const verifies = signInTimings.map((timing) => timing.verify);
    const totals = signInTimings.map((timing) => timing.total);
    console.log(
      `login + MFA verify (n=${totals.length}, one at a time): p50 ${p(totals, 0.5)} ms, p99 ${p(totals, 0.99)} ms ` +
        `(login p50 ${p(logins, 0.5)} ms, verify p50 ${p(verifies, 0.5)} ms; ` +
        `argon2id verify alone ${argon2Ms.toFixed(1)} ms)`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
