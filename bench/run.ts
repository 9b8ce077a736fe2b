/**
 * `npm run bench`: starts a throw-away embedded PostgreSQL, prepares a migrated and seeded
 * database, runs every load row several times (interleaved, so drift hits all rows alike), times
 * sign-ins, the audit trail (appending, sealing, verifying and exporting a long chain) and the
 * API's start-up, and prints tables whose first rows are the baselines the others are compared
 * with. It writes no file. See docs/performance.md.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { ClientConfig } from 'pg';
import { performance } from 'node:perf_hooks';
import { PasswordHasher } from '@forecourt/auth';
import { newId } from '@forecourt/core';
import {
  appendSample,
  AuditWorker,
  buildLargeChain,
  checkAuditSwitch,
  checkMemberRead,
  countEvents,
  LargeChainResult,
  measureStream,
  memberReadTarget,
  sealSample,
} from './audit.bench';
import type { StreamMeasurement } from './audit-worker-protocol';
import { startBenchDatabase } from './bench-database';
import { HttpReadBench, HttpTarget, ReadRoute } from './http-read.bench';
import { LoadSettings, median, quantile, Sample } from './measure';
import { PgReadBench } from './pg-read.bench';
import { Baseline, machine, markdownTable, renderTable, ReportRow, roundRatio } from './report';
import { SignInBench, SignInTiming } from './sign-in.bench';
import { benchStartup } from './startup.bench';

function setting(name: string, fallback: number, minimum = 1): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${name} must be a whole number of at least ${minimum}`);
  }
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
/** Issue 4: the audited read against the same read with auditing off (bench-only switch). */
const AUDIT_TARGET = 0.8;
/** dealer_admins (one session per HTTP connection: no two requests update the same session row). */
const ADMINS = LOAD.connections;
/** dealer_sales members the audited read picks from. */
const MEMBERS = 200;
/** Concurrent callers of `AuditTrail.record` in the append rows: requests in flight across instances. */
const APPEND_CALLERS = setting('BENCH_AUDIT_CALLERS', 32);
const APPEND_SECONDS = 3;
const APPEND_TENANTS = 100;
/**
 * Events in the long generated chain (0: skip it); a second chain holds a tenth of them. The
 * default keeps the whole run under 8 minutes on 2 vCPUs: sealing a backlog of 1,000,000 takes
 * over 3 minutes (docs/performance.md's figures are from a run with 1,000,000).
 */
const LARGE_CHAIN = setting('BENCH_AUDIT_EVENTS', 400_000, 0);

const DATABASE_ROW = '1';
const RAW_ROW = '2';
const LIVE_ROW = '6';
const ME_ROW = '7';
const SIGN_IN_ROW = '8';
const AUDIT_OFF_ROW = '9';
const AUDITED_ROW = '10';
const BASELINES: Baseline[] = [
  { id: DATABASE_ROW, title: '× database' },
  { id: RAW_ROW, title: '× HTTP raw' },
  { id: LIVE_ROW, title: '× /health/live' },
  { id: AUDIT_OFF_ROW, title: '× audit off' },
];
const APPEND_ONE_ROW = '11a';
const APPEND_MANY_ROW = '11b';

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

const STARTED = performance.now();

/** A progress line on stderr, with the minutes and seconds since the start. */
function progress(line: string): void {
  const seconds = Math.floor((performance.now() - STARTED) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  process.stderr.write(`bench ${clock}: ${line}\n`);
}

function logged(label: string, sample: Sample, cpuTitle = 'API CPU'): Sample {
  const cpu = sample.cpuPerOp === undefined ? '' : `, ${cpuTitle} ${sample.cpuPerOp.toFixed(0)} µs/op`;
  const p50 = Number.isNaN(sample.p50) ? '' : `, p50 ${sample.p50.toFixed(2)} ms`;
  progress(`  ${label}: ${sample.opsPerSecond.toFixed(0)} ops/s${p50}${cpu}`);
  return sample;
}

const MiB = 2 ** 20;

/** The heap after V8's own full collections, over the baseline: median / max (how many), in MiB. */
function retained(run: StreamMeasurement): string {
  const over = run.retainedHeaps.map((heap) => (heap - run.baselineHeap) / MiB);
  if (over.length === 0) return 'no full GC';
  return `${median(over).toFixed(1)} / ${Math.max(...over).toFixed(1)} (${over.length})`;
}

/** The table of the generated chains: each step's rate and time, and verify's and export's memory. */
function renderLargeChains(chains: readonly LargeChainResult[]): string {
  const header = [
    'chain',
    'step',
    'events/s',
    'seconds',
    'peak RSS MiB',
    'RSS over baseline MiB',
    'heap over baseline MiB',
    'heap after full GCs, over baseline MiB: median / max (GCs)',
  ];
  const mib = (bytes: number) => (bytes / MiB).toFixed(1);
  const cells = chains.flatMap((chain) => {
    const size = chain.events.toLocaleString('en');
    const rate = (events: number, seconds: number) => (events / seconds).toFixed(0);
    const rows = [
      [
        size,
        'insert, generate_series (superuser)',
        rate(chain.events, chain.insertSeconds),
        chain.insertSeconds.toFixed(1),
      ],
      [
        size,
        'seal, AuditSealer.seal',
        rate(chain.seal.events, chain.seal.seconds),
        chain.seal.seconds.toFixed(1),
      ],
      [size, 'VACUUM ANALYZE audit_events', '', chain.vacuumSeconds.toFixed(1)],
    ];
    for (const [step, run] of [
      ['verify, AuditLog.verify', chain.verify],
      ['export, AuditLog.export jsonl, lines discarded', chain.export],
    ] as const) {
      if (!run) continue;
      rows.push([
        size,
        run.bytes ? `${step} (${(run.bytes / 1e6).toFixed(0)} MB)` : step,
        rate(run.items, run.seconds),
        run.seconds.toFixed(1),
        mib(run.maxRss),
        mib(run.peakRss - run.baselineRss),
        mib(run.peakHeap - run.baselineHeap),
        retained(run),
      ]);
    }
    return rows;
  });
  return markdownTable(header, cells);
}

/** Each round's ratio of `samples` to `baseline`, for the log below the tables. */
function perRound(samples: readonly Sample[], baseline: readonly Sample[]): string {
  return samples
    .map((sample, round) => (sample.opsPerSecond / baseline[round]!.opsPerSecond).toFixed(2))
    .join(', ');
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
  progress(`starting embedded PostgreSQL, seeding ${STORE_COUNT} stores, ${ADMINS + MEMBERS} members`);
  const database = await startBenchDatabase({ stores: STORE_COUNT, admins: ADMINS, members: MEMBERS });
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
  const memberRead = 'HTTP: GET /v1/tenants/:t/users/:u, dealer_admin';
  const auditOffRow = {
    kind: 'load' as const,
    id: AUDIT_OFF_ROW,
    label: `${memberRead}, audit off (bench-only)`,
    samples: [] as Sample[],
  };
  const auditedRow = {
    kind: 'load' as const,
    id: AUDITED_ROW,
    label: `${memberRead}, audited`,
    samples: [] as Sample[],
    against: [AUDIT_OFF_ROW],
  };
  const appendLabel = `AuditTrail.record, ${APPEND_CALLERS} callers`;
  const appendOneRow = {
    kind: 'load' as const,
    id: APPEND_ONE_ROW,
    label: `${appendLabel}, 1 tenant`,
    samples: [] as Sample[],
  };
  const appendManyRow = {
    kind: 'load' as const,
    id: APPEND_MANY_ROW,
    label: `${appendLabel}, ${APPEND_TENANTS} tenants`,
    samples: [] as Sample[],
    against: [APPEND_ONE_ROW],
  };
  const sealOneRow = {
    kind: 'load' as const,
    id: '12a',
    label: 'AuditSealer.seal of what 11a left unsealed, 1 chain',
    samples: [] as Sample[],
  };
  const sealManyRow = {
    kind: 'load' as const,
    id: '12b',
    label: `AuditSealer.seal of what 11b left unsealed, ${APPEND_TENANTS} chains`,
    samples: [] as Sample[],
  };
  const largeChains: LargeChainResult[] = [];
  const signInTimings: SignInTiming[] = [];
  let argon2Ms = Number.NaN;
  // Every API process and audit worker on one database must share it (the key ring and the
  // audit signing key in the database are wrapped with it).
  const masterKey = randomBytes(32).toString('base64');
  try {
    const pg = await PgReadBench.open(database.admin, LOAD.connections, database.tenantId, database.storeIds);
    const apis: HttpReadBench[] = [];
    try {
      // Three identical API processes: rows 2–4 never share theirs with the sign-in traffic, which
      // leaves the process measurably slower for the read routes afterwards (see docs/performance.md),
      // and rows 9–10 have their own too.
      const settings = {
        runtimeUrl: database.runtimeUrl,
        tenantId: database.tenantId,
        poolSize: POOL_SIZE,
        masterKey,
      };
      progress('starting the API for rows 2–4');
      const readApi = await HttpReadBench.start({ ...settings, owners: 0 }, database.storeIds);
      apis.push(readApi);
      progress(`starting the API for rows 6–8, creating ${OWNERS} platform owners`);
      const authApi = await HttpReadBench.start({ ...settings, owners: OWNERS }, database.storeIds);
      apis.push(authApi);
      progress(`starting the API for rows 9–10, issuing sessions for ${ADMINS} dealer_admins`);
      const auditApi = await HttpReadBench.start(
        { ...settings, owners: 0, sessionsFor: database.adminIds },
        database.storeIds,
      );
      apis.push(auditApi);
      await readApi.check(READ_ROWS.map((row) => row.route));
      await checkMemberRead(auditApi.origin, database.tenantId, database.memberIds[0]!, auditApi.tokens[0]!);
      const memberTarget = memberReadTarget(database.tenantId, database.memberIds, auditApi.tokens);
      progress(`enrolling MFA for ${OWNERS} owners (login, enroll, verify)`);
      const signIn = await SignInBench.enroll(authApi.origin, authApi.owners);
      const targets: {
        row: { samples: Sample[] };
        name: string;
        api: HttpReadBench;
        target: HttpTarget;
        /** Run before the row's warm-up second (rows 9–10: the bench-only audit switch). */
        prepare?: () => Promise<void>;
      }[] = [
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
        {
          row: auditOffRow,
          name: 'member read, audit off',
          api: auditApi,
          target: memberTarget,
          prepare: () => auditApi.setAuditRecording(false),
        },
        {
          row: auditedRow,
          name: 'member read, audited',
          api: auditApi,
          target: memberTarget,
          prepare: () => auditApi.setAuditRecording(true),
        },
      ];
      // Once, unrecorded: the API's code paths are still being compiled at first, and the row that
      // runs first in round 1 would pay for it. (Enrolling has warmed the sign-in path.)
      progress('warming up the APIs');
      for (const { api, target, prepare } of targets) {
        await prepare?.();
        await api.run(target, { ...LOAD, seconds: 2 });
      }
      await checkAuditSwitch(auditApi, memberTarget, database.admin, database.tenantId, LOAD);
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`round ${round}/${ROUNDS}`);
        databaseRow.samples.push(logged('database', await pg.run(LOAD)));
        for (const { row, name, api, target, prepare } of targets) {
          await prepare?.();
          row.samples.push(logged(name, await api.run(target, LOAD)));
        }
        const count = signInsInRound(round);
        if (count > 0) {
          const { sample, timings } = await signInSample(authApi, signIn, count);
          signInRow.samples.push(logged(`${count} sign-ins`, sample));
          signInRow.latencies.push(...timings.map((timing) => timing.total));
          signInTimings.push(...timings);
        }
      }
      const recorded = await countEvents(database.admin, database.tenantId);
      progress(`the bench tenant's chain holds ${recorded.events} events, ${recorded.sealed} sealed`);
      progress(`timing argon2id verify alone (${ARGON2_RUNS} runs)`);
      argon2Ms = await argon2VerifyMs();
    } finally {
      for (const api of apis) await api.stop();
      await pg.close();
    }
    largeChains.push(
      ...(await benchAuditTrail(database, masterKey, {
        append: [
          { chains: [newId()], append: appendOneRow, seal: sealOneRow },
          {
            chains: Array.from({ length: APPEND_TENANTS }, () => newId()),
            append: appendManyRow,
            seal: sealManyRow,
          },
        ],
      })),
    );
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
    auditOffRow,
    auditedRow,
  ];
  console.log(`Forecourt bench — ${machine(database.serverVersion)}`);
  console.log(
    `${LOAD.connections} connections, pools of ${POOL_SIZE}, ${STORE_COUNT} stores; ` +
      `${LOAD.warmupSeconds} s warm-up + ${LOAD.seconds} s per run; median of ${ROUNDS} interleaved rounds; ` +
      `${SIGN_INS} sign-ins one at a time, spread over the rounds\n`,
  );
  console.log(renderTable(rows, BASELINES));
  console.log(
    `\nAudit trail without HTTP (a worker process with the API's pool of ${POOL_SIZE}; ` +
      `${APPEND_SECONDS} s per append run, then a timed seal; median of ${ROUNDS} interleaved rounds):\n`,
  );
  console.log(
    renderTable(
      [appendOneRow, appendManyRow, sealOneRow, sealManyRow],
      [{ id: APPEND_ONE_ROW, title: '× 1 tenant' }],
      { rate: 'events/s', cpu: 'worker CPU µs/event' },
    ),
  );
  if (largeChains.length) {
    console.log(
      '\nGenerated chains (verify and export each in a fresh worker process; peak RSS is its ru_maxrss, ' +
        'start-up included; "over baseline": the largest value sampled every 10 ms during the run ' +
        'minus the value after start-up and two forced full GCs):\n',
    );
    console.log(renderLargeChains(largeChains));
  }

  const [raw, statement] = readRows;
  const tenantRatio = roundRatio(statement!.samples, raw!.samples);
  const verdict = tenantRatio >= TENANT_TARGET ? 'meets' : 'BELOW';
  console.log(
    `\nTenantTransaction.statement / raw read: ${tenantRatio.toFixed(2)}× (${verdict} the ≥ ${TENANT_TARGET}× target)`,
  );
  console.log(
    `GET /v1/auth/me / GET /health/live: ${roundRatio(meRow.samples, liveRow.samples).toFixed(2)}×`,
  );
  const auditRatio = roundRatio(auditedRow.samples, auditOffRow.samples);
  console.log(
    `audited member read / audit off: ${auditRatio.toFixed(2)}× ` +
      `(${auditRatio >= AUDIT_TARGET ? 'meets' : 'BELOW'} the ≥ ${AUDIT_TARGET.toFixed(2)}× target; ` +
      `per round ${perRound(auditedRow.samples, auditOffRow.samples)})`,
  );
  console.log(
    `AuditTrail.record, ${APPEND_TENANTS} tenants / 1 tenant: ` +
      `${roundRatio(appendManyRow.samples, appendOneRow.samples).toFixed(2)}× ` +
      `(per round ${perRound(appendManyRow.samples, appendOneRow.samples)})`,
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
  const elapsed = (performance.now() - STARTED) / 1000;
  console.log(`whole run (after the build): ${Math.floor(elapsed / 60)} min ${Math.round(elapsed % 60)} s`);
}

/** A row of the audit trail table, filled round by round. */
interface TrailRow {
  samples: Sample[];
}

/**
 * Issue 4's trail figures, after the HTTP rows (so nothing here disturbs them): rounds of
 * appending through `AuditTrail.record` into one chain and into many, each followed by a timed
 * seal of what it appended; then the generated chains (sealed, verified, exported). Returns the
 * generated chains' results.
 */
async function unsealedEvents(admin: ClientConfig, chains: string[]): Promise<number> {
  let left = 0;
  for (const chain of chains) {
    const { events, sealed } = await countEvents(admin, chain);
    left += events - sealed;
  }
  return left;
}

async function benchAuditTrail(
  database: Awaited<ReturnType<typeof startBenchDatabase>>,
  masterKey: string,
  plan: { append: { chains: string[]; append: TrailRow; seal: TrailRow }[] },
): Promise<LargeChainResult[]> {
  const settings = { runtimeUrl: database.runtimeUrl, masterKey, poolSize: POOL_SIZE };
  const actorId = database.adminIds[0]!;
  const sizes = LARGE_CHAIN > 0 ? [Math.max(1, Math.round(LARGE_CHAIN / 10)), LARGE_CHAIN] : [];
  const built: { chain: string; result: LargeChainResult }[] = [];
  progress('starting the audit worker');
  const worker = await AuditWorker.start(settings);
  try {
    progress('warming up the audit worker');
    for (const { chains } of plan.append) {
      await worker.append({ chains, callers: APPEND_CALLERS, seconds: 1 });
      await worker.seal(chains);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`audit round ${round}/${ROUNDS}`);
      for (const { chains, append, seal } of plan.append) {
        const name = chains.length === 1 ? '1 chain' : `${chains.length} chains`;
        const appended = await worker.append({ chains, callers: APPEND_CALLERS, seconds: APPEND_SECONDS });
        append.samples.push(logged(`append, ${name}`, appendSample(appended), 'worker CPU'));
        const sealed = await worker.seal(chains);
        // Most appended events go in already sealed (the group commit seals a chain's batch when
        // it holds the chain's lock), so the seal takes only the rest; afterwards none is left.
        const left = await unsealedEvents(database.admin, chains);
        if (left > 0)
          throw new Error(`${appended.events} events appended, ${left} left unsealed after the seal`);
        seal.samples.push(logged(`seal, ${name}`, sealSample(sealed), 'worker CPU'));
      }
    }
    for (const size of sizes) {
      built.push(await buildLargeChain(database.admin, worker, size, actorId, progress));
    }
  } finally {
    await worker.stop();
  }
  for (const { chain, result } of built) {
    for (const kind of ['verify', 'export'] as const) {
      progress(`${kind} of the ${result.events.toLocaleString('en')}-event chain in a fresh worker`);
      const measured = await measureStream(settings, { kind, chain, events: result.events, actorId });
      progress(
        `  ${measured.items} in ${measured.seconds.toFixed(1)} s, ` +
          `peak RSS ${(measured.maxRss / MiB).toFixed(0)} MiB, heap +${((measured.peakHeap - measured.baselineHeap) / MiB).toFixed(1)} MiB, ` +
          `after full GCs ${retained(measured)} MiB`,
      );
      result[kind] = measured;
    }
  }
  return built.map(({ result }) => result);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
