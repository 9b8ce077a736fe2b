/**
 * `npm run bench:leads`: issue 7's figures.
 *
 * One embedded cluster, one database: 1,000 tenants with 5,000 leads over 2,500 customers each,
 * plus the measured tenant (5,000 leads, 2,500 customers whose identifiers are really sealed under
 * its data key). The API runs in its own process as `npm run bench` runs it (`bench-server.ts`:
 * `createApp` with the bench routes mounted), and autocannon drives it with 40 connections:
 * the raw-pg key read of `npm run bench` (the baseline), the customer detail (session check, CASL,
 * RLS, field decryption, redaction, durable read audit) as a dealer_admin and as a dealer_sales
 * member, and the lead list as both, in interleaved rounds, with the CPU per request of the API,
 * of PostgreSQL and of the machine. Then where the time goes: the plans of the statements (and a
 * labelled what-if for the lists), per-step wall times one request at a time (an app in this
 * process), PostgreSQL's CPU per statement of one request, and CPU profiles of the API process
 * under the same load.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuditTrail } from '@forecourt/audit';
import { Sessions } from '@forecourt/auth';
import { loadConfig } from '@forecourt/config';
import { TenantKeys } from '@forecourt/crypto';
import { type TenantScope, TenantTransaction, type TenantWork } from '@forecourt/database';
import { createApp } from '../apps/api/src/create-app';
import { BenchReadModule } from './bench-read.module';
import { HttpReadBench } from './http-read.bench';
import {
  type GeneratedCounts,
  LeadsGenerator,
  MEASURED_CUSTOMERS,
  MEASURED_LEADS,
  MEASURED_SALES_PER_STORE,
  MEASURED_STORES,
  MEASURED_TENANT,
  type MeasuredCustomer,
  type Member,
  type SealedColumns,
  startLeadsCluster,
} from './leads-database';
import {
  type CpuProfile,
  load,
  type LoadTarget,
  machineBusyMicros,
  mainCaller,
  processTreeCpuMicros,
  type ProfileSummary,
  summarizeProfile,
} from './leads-load';
import { median, pick, quantile, type Sample } from './measure';
import { sentStatements, statementCosts } from './leads-statements';
import { machine, markdownTable, roundRatio } from './report';

function setting(name: string, fallback: number, minimum = 1): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < minimum)
    throw new Error(`${name} must be a whole number ≥ ${minimum}`);
  return value;
}

const ROUNDS = setting('BENCH_ROUNDS', 5);
const SECONDS = setting('BENCH_SECONDS', 5);
const WARMUP_SECONDS = 1;
/** Issue 7's figure is at 40 connections. */
const CONNECTIONS = setting('BENCH_CONNECTIONS', 40);
/** The API's pool and the raw route's pool: the app's default (what `npm start` runs with). */
const POOL_SIZE = setting('BENCH_POOL', 10);
const OTHER_TENANTS = setting('BENCH_LEADS_TENANTS', 1000, 0);
const LEADS_PER_TENANT = setting('BENCH_LEADS_PER_TENANT', 5000, 2);
/** Pages followed from the first one to find the admin's deep page. */
const DEEP_PAGES = 80;
const STEP_WARMUP = 200;
const STEP_REQUESTS = setting('BENCH_STEP_REQUESTS', 1000);
/** A directory to keep each profiled row's CPU profile in (`row-N.cpuprofile`, for DevTools). */
const KEEP_PROFILES = process.env.BENCH_LEADS_PROFILES;
const PROFILE_SECONDS = 5;
/**
 * Another build's `dist` (say, of the commit before a change): its API process runs beside this
 * build's on the same database, and the raw and detail rows run against both, interleaved in the
 * same rounds, so the two builds meet the same machine at the same minutes.
 */
const COMPARE_DIST = process.env.BENCH_LEADS_COMPARE_DIST;
/** How long each statement is run again for its PostgreSQL CPU. */
const STATEMENT_SECONDS = 0.6;
/** Issue 7's aims for the fully secured customer detail read. */
const RATIO_AIM = 0.5;
const P99_AIM_MS = 30;
/** The paced rows offer this share of the rate the secured admin read served at saturation. */
const PACED_SHARE = 0.25;
const PACED_ROUNDS = 3;

const STARTED = performance.now();
const clock = () => {
  const seconds = Math.floor((performance.now() - STARTED) / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};
const progress = (line: string) => process.stderr.write(`bench:leads ${clock()}: ${line}\n`);

const customerPath = (id: string) => `/v1/tenants/${MEASURED_TENANT}/customers/${id}`;
const leadsPath = (cursor?: string) =>
  `/v1/tenants/${MEASURED_TENANT}/leads?limit=50${cursor ? `&cursor=${cursor}` : ''}`;

interface CustomerBody {
  id: string;
  storeId: string;
  nationalId: string | null;
  driverLicense: string | null;
  sensitive: Record<string, string> | null;
}
interface LeadPage {
  data: { id: string; assignedUserId: string | null }[];
  nextCursor: string | null;
}

async function getJson<T>(origin: string, path: string, token: string, status = 200): Promise<T> {
  const response = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== status) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The measured tenant's people and rows, as the bench knows them. */
interface World {
  admin: Member;
  sales: Member[];
  customers: MeasuredCustomer[];
  customersOf: Map<string, MeasuredCustomer[]>;
  accountIds: string[];
}

/** Every identifier opened and equal to what was sealed. */
function assertOpened(body: CustomerBody, customer: MeasuredCustomer, who: string): void {
  const same =
    body.id === customer.id &&
    body.nationalId === customer.nationalId &&
    body.driverLicense === customer.driverLicense &&
    JSON.stringify(body.sensitive) === JSON.stringify(customer.sensitive);
  if (!same) throw new Error(`${who}: customer ${customer.id} came back wrong: ${JSON.stringify(body)}`);
}

/** A local app (this process): seals, checks, captures statements, times steps. */
interface Local {
  app: NestFastifyApplication;
  origin: string;
  close(): Promise<void>;
}

async function startLocal(runtimeUrl: string, masterKey: string): Promise<Local> {
  const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-bench-leads-local-'));
  const app = await createApp({
    config: loadConfig({
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      MASTER_KEY: masterKey,
      // Its audit sealer stays out of the step times and the statement capture (the API process
      // seals every event, these included).
      AUDIT_SEAL_INTERVAL_MS: '600000',
    }),
    runtimeDatabaseUrl: runtimeUrl,
    poolSize: POOL_SIZE,
    extraImports: [BenchReadModule.forRoot({ runtimeUrl, tenantId: MEASURED_TENANT, poolSize: POOL_SIZE })],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The measured customers' identifiers sealed by the app's own `TenantKeys.seal` in one tenant
 * transaction: the first seal creates the tenant's data key (wrapped under MASTER_KEY), and each
 * value is bound to its customer and field exactly as `Customers` binds them.
 */
async function sealIdentifiers(
  app: NestFastifyApplication,
  customers: readonly MeasuredCustomer[],
): Promise<SealedColumns[]> {
  const keys = app.get(TenantKeys);
  return app.get(TenantTransaction).run({ tenantId: MEASURED_TENANT, stores: 'all' }, async (tx) => {
    const sealed: SealedColumns[] = [];
    for (const customer of customers) {
      const seal = (field: string, text: string) =>
        keys.seal(tx, Buffer.from(text, 'utf8'), `customer:${customer.id}:${field}`);
      sealed.push({
        n: customer.n,
        nationalId: await seal('nationalId', customer.nationalId),
        driverLicense: await seal('driverLicense', customer.driverLicense),
        sensitive: await seal('sensitive', JSON.stringify(customer.sensitive)),
      });
    }
    return sealed;
  });
}

/**
 * Through the local app: every kind of read answers as it should (identifiers opened for both
 * roles, the store wall for sales, sales see only their own leads, the admin all 5,000), and the
 * admin's cursor after `DEEP_PAGES` pages.
 */
async function check(local: Local, world: World, adminToken: string, salesToken: string): Promise<string> {
  const { origin } = local;
  for (const customer of world.customers.slice(0, 20)) {
    assertOpened(
      await getJson<CustomerBody>(origin, customerPath(customer.id), adminToken),
      customer,
      'admin',
    );
  }
  const seller = world.sales[0]!;
  const own = world.customersOf.get(seller.storeId!)!;
  for (const customer of own.slice(0, 20)) {
    assertOpened(
      await getJson<CustomerBody>(origin, customerPath(customer.id), salesToken),
      customer,
      'sales',
    );
  }
  const elsewhere = world.customers.find((customer) => customer.storeId !== seller.storeId)!;
  await getJson(origin, customerPath(elsewhere.id), salesToken, 404);

  let cursor: string | undefined;
  let deep: string | undefined;
  let count = 0;
  for (let page = 0; ; page++) {
    if (page === DEEP_PAGES) deep = cursor;
    const next: LeadPage = await getJson<LeadPage>(origin, leadsPath(cursor), adminToken);
    count += next.data.length;
    if (!next.nextCursor) break;
    cursor = next.nextCursor;
  }
  if (count !== MEASURED_LEADS || !deep)
    throw new Error(`admin: ${count} leads listed, not ${MEASURED_LEADS}`);
  cursor = undefined;
  count = 0;
  for (;;) {
    const next: LeadPage = await getJson<LeadPage>(origin, leadsPath(cursor), salesToken);
    if (next.data.some((lead) => lead.assignedUserId !== seller.userId))
      throw new Error('sales: a lead assigned to someone else was listed');
    count += next.data.length;
    if (!next.nextCursor) break;
    cursor = next.nextCursor;
  }
  const expected = MEASURED_LEADS / (MEASURED_STORES * MEASURED_SALES_PER_STORE);
  if (count !== expected) throw new Error(`sales: ${count} leads listed, not ${expected}`);
  progress(
    `checks passed: identifiers open for both roles, sales see their ${count} leads, admin all ${MEASURED_LEADS}`,
  );
  return deep;
}

type StatementFn = (scope: TenantScope, sql: string, params?: unknown[]) => Promise<unknown>;
type RunFn = (
  scope: TenantScope,
  work: (tx: TenantWork) => Promise<unknown>,
  options?: object,
) => Promise<unknown>;
interface Captured {
  scope: TenantScope;
  sql: string;
  params: unknown[];
}

/** Shadows a method of one instance (the app's singleton) until the returned function is called. */
function shadow<T extends object>(target: T, name: string, value: unknown): () => void {
  Object.defineProperty(target, name, { value, configurable: true, writable: true });
  return () => {
    Reflect.deleteProperty(target, name); // the prototype's method again
  };
}

/**
 * The statement a request sends, as the app sends it: the lead list's from
 * `TenantTransaction.statement`, the customer detail's SELECT from the `tx.query` of its
 * `TenantTransaction.run`.
 */
async function capture(local: Local, path: string, token: string): Promise<Captured> {
  const transactions = local.app.get(TenantTransaction);
  const statement = transactions.statement.bind(transactions) as StatementFn;
  const run = transactions.run.bind(transactions) as RunFn;
  let captured: Captured | undefined;
  const interesting = (sql: string) =>
    /from leads l left join customers c/.test(sql) ||
    /from customers c where c\.tenant_id = \$1 and c\.id = \$2/.test(sql);
  const restoreStatement = shadow(
    transactions,
    'statement',
    (scope: TenantScope, sql: string, params: unknown[] = []) => {
      if (interesting(sql)) captured = { scope, sql, params };
      return statement(scope, sql, params);
    },
  );
  const restoreRun = shadow(
    transactions,
    'run',
    (scope: TenantScope, work: (tx: TenantWork) => Promise<unknown>, options?: object) =>
      run(
        scope,
        (tx) =>
          work({
            ...tx,
            query: (sql: string, params?: unknown[]) => {
              if (interesting(sql)) captured = { scope, sql, params: params ?? [] };
              return tx.query(sql, params);
            },
          }),
        options,
      ),
  );
  try {
    await getJson(local.origin, path, token);
  } finally {
    restoreStatement();
    restoreRun();
  }
  if (!captured) throw new Error(`${path}: no statement captured`);
  return captured;
}

/** `EXPLAIN (ANALYZE, BUFFERS)` of a captured statement as the runtime role, in its scope; 2nd of 2 runs. */
async function explain(local: Local, captured: Captured): Promise<string[]> {
  const transactions = local.app.get(TenantTransaction);
  let plan: string[] = [];
  for (let run = 0; run < 2; run++) {
    const { rows } = await transactions.run(captured.scope, (tx) =>
      tx.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${captured.sql}`, captured.params),
    );
    plan = rows.map((row) => row['QUERY PLAN']);
  }
  return plan;
}

/** Plan nodes (without row-level security's InitPlans and Results), top buffers, times. */
function planSummary(plan: readonly string[]) {
  const nodes: string[] = [];
  for (const line of plan) {
    const node = /^\s*(?:->\s*)?([A-Z][A-Za-z ]+?(?: using \w+)?(?: on \w+(?: \w+)?)?)\s+\(cost=/.exec(line);
    if (node && !/^(Result|InitPlan)/.test(node[1]!)) nodes.push(node[1]!);
  }
  const buffers = plan.find((line) => /Buffers:/.test(line))?.replace(/^.*Buffers:\s*/, '') ?? '';
  const joined = plan.join('\n');
  return {
    nodes: nodes.join(' → '),
    buffers,
    planning: /Planning Time: ([\d.]+) ms/.exec(joined)?.[1] ?? '',
    execution: /Execution Time: ([\d.]+) ms/.exec(joined)?.[1] ?? '',
  };
}

/** Each statement's plan as the app sends it. */
async function plans(local: Local, shapes: { id: string; path: string; token: string }[]): Promise<string> {
  const rows: string[][] = [];
  const row = (id: string, plan: string[]) => {
    process.stderr.write(`--- plan ${id} ---\n${plan.join('\n')}\n`);
    const summary = planSummary(plan);
    rows.push([id, summary.nodes, summary.buffers, summary.planning, summary.execution]);
  };
  for (const shape of shapes) {
    const captured = await capture(local, shape.path, shape.token);
    row(shape.id, await explain(local, captured));
  }
  return markdownTable(
    ['statement', 'plan (EXPLAIN ANALYZE, 2nd run, runtime role)', 'buffers', 'planning ms', 'execution ms'],
    rows,
  );
}

/** One GET on a keep-alive socket of its own; resolves with the status once the body is read. */
function timedGet(agent: Agent, origin: string, path: string, token?: string): Promise<number> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {} },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const STEP_NAMES = ['session', 'transaction', 'decrypt', 'statement', 'audit'] as const;
type Step = (typeof STEP_NAMES)[number];

/**
 * Wall time of each step of one request at a time (no queueing anywhere), through the local app,
 * by shadowing the methods of its singletons: `Sessions.authenticate` (the session check, an
 * UPDATE … RETURNING), `TenantTransaction.run` (the customer's transaction: connection, BEGIN +
 * context + SELECT, decryption, COMMIT), `TenantKeys.open` (inside it), the list's own
 * `TenantTransaction.statement`, and `AuditTrail.record` (the durable event: its group commit).
 */
async function stepTimes(
  local: Local,
  shapes: { id: string; label: string; path: () => string; token?: string }[],
): Promise<string> {
  const { app, origin } = local;
  let current: Record<Step, number> | undefined;
  const timing = (
    step: Step,
    original: (...args: unknown[]) => unknown,
    only?: (args: unknown[]) => boolean,
  ) =>
    function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      const result = original.apply(this, args) as Promise<unknown>;
      if (only && !only(args)) return result;
      const into = current;
      const done = () => {
        if (into) into[step] += performance.now() - started;
      };
      return result.then(
        (value) => {
          done();
          return value;
        },
        (error: unknown) => {
          done();
          throw error;
        },
      );
    };
  const sessions = app.get(Sessions);
  const transactions = app.get(TenantTransaction);
  const keys = app.get(TenantKeys);
  const trail = app.get(AuditTrail);
  // The prototype's own methods, called with the instance (`this`) they were looked up on.
  const restore = [
    shadow(sessions, 'authenticate', timing('session', Sessions.prototype.authenticate as never)),
    shadow(transactions, 'run', timing('transaction', TenantTransaction.prototype.run as never)),
    shadow(
      transactions,
      'statement',
      timing('statement', TenantTransaction.prototype.statement as never, (args) =>
        /from leads l left join customers c|from customers c where c\.tenant_id = \$1 and c\.id = \$2/.test(
          String(args[1]),
        ),
      ),
    ),
    shadow(keys, 'open', timing('decrypt', TenantKeys.prototype.open as never)),
    shadow(trail, 'record', timing('audit', AuditTrail.prototype.record as never)),
  ];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows: string[][] = [];
  try {
    for (const shape of shapes) {
      const totals: number[] = [];
      const steps = Object.fromEntries(STEP_NAMES.map((step) => [step, [] as number[]])) as Record<
        Step,
        number[]
      >;
      const rest: number[] = [];
      for (let index = 0; index < STEP_WARMUP + STEP_REQUESTS; index++) {
        const mine = Object.fromEntries(STEP_NAMES.map((step) => [step, 0])) as Record<Step, number>;
        current = mine;
        const started = performance.now();
        const status = await timedGet(agent, origin, shape.path(), shape.token);
        const total = performance.now() - started;
        current = undefined;
        if (status !== 200) throw new Error(`${shape.id}: ${status}`);
        if (index < STEP_WARMUP) continue;
        totals.push(total);
        for (const step of STEP_NAMES) steps[step].push(mine[step]);
        // Decryption runs after the read statement, outside any transaction.
        rest.push(total - mine.session - mine.transaction - mine.statement - mine.decrypt - mine.audit);
      }
      const cell = (values: number[]) => (values.some((value) => value > 0) ? median(values).toFixed(3) : '');
      rows.push([
        shape.id,
        shape.label,
        median(totals).toFixed(3),
        cell(steps.session),
        cell(steps.transaction),
        cell(steps.statement),
        cell(steps.decrypt),
        cell(steps.audit),
        median(rest).toFixed(3),
      ]);
      progress(`step times ${shape.id}: total p50 ${median(totals).toFixed(2)} ms`);
    }
  } finally {
    agent.destroy();
    for (const undo of restore) undo();
  }
  return markdownTable(
    [
      'route',
      'what',
      'request ms',
      'session check ms',
      'tenant transaction ms',
      'read statement ms',
      'decryption ms',
      'audit record ms',
      'rest ms (HTTP, guards, CASL, redaction, JSON)',
    ],
    rows,
  );
}

interface LoadRow {
  id: string;
  label: string;
  target: LoadTarget;
  /** Run with the bench-only audit switch off (`AuditTrail.record` a no-op). */
  auditOff?: boolean;
  /** The API process it loads, when not this build's (`BENCH_LEADS_COMPARE_DIST`). */
  api?: HttpReadBench;
  /** This build's row that this one repeats against the other build. */
  twinOf?: LoadRow;
  /** The row its "× raw pg" is taken against, when not row 1 (the other build's raw read). */
  baseline?: LoadRow;
  samples: Sample[];
  /** Per round: PostgreSQL's CPU (postmaster and backends), µs per request. */
  databaseCpu: number[];
  /** Per round: the whole machine's busy CPU (API, PostgreSQL, load generator, the rest), µs per request. */
  machineCpu: number[];
}

/** One run of a row after a warm-up: rate, latencies, and CPU per request of the API, the database, the machine. */
async function measureRow(own: HttpReadBench, row: LoadRow, postmasterPid: number): Promise<void> {
  const api = row.api ?? own;
  await load(api.origin, row.target, CONNECTIONS, WARMUP_SECONDS);
  const databaseBefore = processTreeCpuMicros(postmasterPid);
  const machineBefore = machineBusyMicros();
  const { result, cpuMicros } = await api.measureCpu(() =>
    load(api.origin, row.target, CONNECTIONS, SECONDS),
  );
  const { completed, ...sample } = result;
  row.databaseCpu.push((processTreeCpuMicros(postmasterPid) - databaseBefore) / completed);
  row.machineCpu.push((machineBusyMicros() - machineBefore) / completed);
  row.samples.push({ ...sample, cpuPerOp: cpuMicros / completed });
}

/**
 * What the p99 aim asks of this machine, by Little's law: with CONNECTIONS requests always in
 * flight, the mean response time is CONNECTIONS ÷ the rate, and the rate can't pass the CPUs ÷ the
 * CPU one request costs. Given for the whole machine (the load generator included) and for the
 * server alone (API and PostgreSQL, as on a machine whose load comes from elsewhere); and, with
 * the tail the row showed (its p99 ÷ its mean), the CPU per request a p99 under the aim needs.
 */
function capacity(row: LoadRow): string {
  const cpus = availableParallelism();
  const machine = median(row.machineCpu);
  const server = median(row.samples.map((sample) => sample.cpuPerOp ?? Number.NaN)) + median(row.databaseCpu);
  const tail = median(row.samples.map((sample) => sample.p99 / ((CONNECTIONS / sample.opsPerSecond) * 1000)));
  const bound = (micros: number) => {
    const ceiling = (cpus * 1e6) / micros;
    return `${micros.toFixed(0)} µs → at most ${ceiling.toFixed(0)}/s → a mean of at least ${((CONNECTIONS / ceiling) * 1000).toFixed(1)} ms`;
  };
  const needed = (cpus * 1e6 * (P99_AIM_MS / 1000)) / (tail * CONNECTIONS);
  return (
    `capacity, row ${row.id} (${CONNECTIONS} connections, ${cpus} CPUs): machine ${bound(machine)}; ` +
    `server alone ${bound(server)}; p99 ${tail.toFixed(1)}× the mean, so a p99 under ${P99_AIM_MS} ms needs ` +
    `≤ ${needed.toFixed(0)} µs per request`
  );
}

/**
 * Rows at one fixed rate for all of them: each response's time while the machine has headroom,
 * beside the same rows at saturation above. Not issue 7's figure (that is at saturation), but
 * it tells the read's own latency apart from the queueing of a machine run flat out.
 */
async function pacedTable(own: HttpReadBench, rows: readonly LoadRow[], rate: number): Promise<string> {
  const measured = rows.map((row) => ({ row, samples: [] as Sample[] }));
  for (let round = 0; round < PACED_ROUNDS; round++) {
    for (let index = 0; index < measured.length; index++) {
      const { row, samples } = measured[(index + round) % measured.length]!;
      const api = row.api ?? own;
      await pacedLoad(api.origin, row.target, WARMUP_SECONDS, rate);
      samples.push(await pacedLoad(api.origin, row.target, SECONDS, rate));
    }
  }
  return markdownTable(
    ['#', 'benchmark', 'offered req/s', 'answered req/s', 'p50 ms', 'p99 ms', 'p99 per round'],
    measured.map(({ row, samples }) => [
      row.id,
      row.label,
      String(rate),
      median(samples.map((sample) => sample.opsPerSecond)).toFixed(0),
      median(samples.map((sample) => sample.p50)).toFixed(2),
      median(samples.map((sample) => sample.p99)).toFixed(2),
      samples.map((sample) => sample.p99.toFixed(1)).join(', '),
    ]),
  );
}

/**
 * CONNECTIONS keep-alive connections sending `rate` requests per second between them, evenly
 * spaced (connection `c` sends at its own offset, then every CONNECTIONS ÷ `rate` seconds, or as
 * soon as its answer is in when that is later). Each response is timed from the moment it was due
 * to be sent, so a connection that falls behind counts its wait (no coordinated omission).
 * autocannon's own rate limit sends each second's quota in a burst, which measures the burst.
 */
async function pacedLoad(origin: string, target: LoadTarget, seconds: number, rate: number): Promise<Sample> {
  const interval = (CONNECTIONS / rate) * 1000;
  const start = performance.now() + 20;
  const end = start + seconds * 1000;
  const latencies: number[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, connection) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const next = target.pathFor(connection);
      const token = target.tokens.length ? target.tokens[connection % target.tokens.length] : undefined;
      try {
        for (let due = start + (connection / CONNECTIONS) * interval; due < end; due += interval) {
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          if ((await timedGet(agent, origin, next(), token)) !== 200) failed++;
          latencies.push(performance.now() - due);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  if (failed > 0) throw new Error(`paced GET ${target.pathFor(0)()} (…): ${failed} failed requests`);
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** `row` against the other build's API process (`BENCH_LEADS_COMPARE_DIST`), with its sessions. */
function otherBuildRow(row: LoadRow, other: HttpReadBench, tokens: readonly string[]): LoadRow {
  return {
    id: `${row.id}′`,
    label: `${row.label}, the other build`,
    target: { ...row.target, tokens },
    api: other,
    twinOf: row,
    samples: [],
    databaseCpu: [],
    machineCpu: [],
  };
}

/**
 * This build against the other one, row by row: the median of the per-round ratios of requests/s,
 * each round's pair measured minutes apart at most, and the per-round values.
 */
function comparison(rows: readonly LoadRow[]): string {
  const parts = rows.flatMap((twin) => {
    const own = twin.twinOf;
    if (!own) return [];
    const perRound = own.samples.map((sample, round) =>
      (sample.opsPerSecond / twin.samples[round]!.opsPerSecond).toFixed(2),
    );
    return `row ${own.id} ${roundRatio(own.samples, twin.samples).toFixed(2)}× (per round ${perRound.join(', ')})`;
  });
  return `this build ÷ the other build (${COMPARE_DIST}), requests/s: ${parts.join('; ')}`;
}

/** Waits for `file` to appear (the profiler preload's answers). */
async function appeared(file: string, what: string): Promise<void> {
  for (let waited = 0; !existsSync(file); waited += 50) {
    if (waited > 30_000) throw new Error(`${what}: ${file} did not appear`);
    await sleep(50);
  }
}

/** The rows: medians over the rounds; ratios are medians of the per-round ratios. */
function loadTable(rows: readonly LoadRow[]): string {
  const [raw, , , auditOff] = rows;
  const mid = (values: readonly number[]) => median([...values]);
  const cells = rows.map((row) => {
    const rate = mid(row.samples.map((sample) => sample.opsPerSecond));
    const rates = row.samples.map((sample) => sample.opsPerSecond);
    const spread = ((Math.max(...rates) - Math.min(...rates)) / 2 / rate) * 100;
    const isDetail = /customer detail/.test(row.label);
    return [
      row.id,
      row.label,
      rate.toFixed(0),
      `±${spread.toFixed(1)}%`,
      `${roundRatio(row.samples, (row.baseline ?? raw!).samples).toFixed(2)}×`,
      isDetail ? `${roundRatio(row.samples, auditOff!.samples).toFixed(2)}×` : '',
      mid(row.samples.map((sample) => sample.p50)).toFixed(2),
      mid(row.samples.map((sample) => sample.p99)).toFixed(2),
      mid(row.samples.map((sample) => sample.cpuPerOp ?? Number.NaN)).toFixed(0),
      mid(row.databaseCpu).toFixed(0),
      mid(row.machineCpu).toFixed(0),
    ];
  });
  return markdownTable(
    [
      '#',
      'benchmark',
      'req/s',
      'spread',
      '× raw pg',
      '× audit off',
      'p50 ms',
      'p99 ms',
      'API CPU µs/req',
      'PostgreSQL CPU µs/req',
      'machine CPU µs/req',
    ],
    cells,
  );
}

interface Profiled {
  row: LoadRow;
  summary: ProfileSummary;
  line: string;
}

/** A CPU profile of the API process during `PROFILE_SECONDS` of one row's load. */
async function profileRow(
  api: HttpReadBench,
  dir: string,
  row: LoadRow,
  postmasterPid: number,
): Promise<Profiled> {
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  for (const file of ['started', 'profile.json', 'writes.json']) rmSync(join(dir, file), { force: true });
  process.kill(pid, 'SIGUSR2');
  await appeared(join(dir, 'started'), 'profiler start');
  const databaseBefore = processTreeCpuMicros(postmasterPid);
  const { result, cpuMicros } = await api.measureCpu(() =>
    load(api.origin, row.target, CONNECTIONS, PROFILE_SECONDS),
  );
  const databaseMicros = processTreeCpuMicros(postmasterPid) - databaseBefore;
  process.kill(pid, 'SIGUSR2');
  await appeared(join(dir, 'profile.json'), 'profile');
  await sleep(200); // written in one call; let it finish
  const profile = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8')) as CpuProfile;
  if (KEEP_PROFILES) {
    mkdirSync(KEEP_PROFILES, { recursive: true });
    copyFileSync(join(dir, 'profile.json'), join(KEEP_PROFILES, `row-${row.id}.cpuprofile`));
  }
  const summary = summarizeProfile(profile, result.completed);
  const writes = JSON.parse(readFileSync(join(dir, 'writes.json'), 'utf8')) as {
    http: number;
    other: number;
  };
  const perRequest = (count: number) => (count / result.completed).toFixed(2);
  const line =
    `row ${row.id}: ${result.opsPerSecond.toFixed(0)} req/s while profiled, p50 ${result.p50.toFixed(2)} ms, ` +
    `p99 ${result.p99.toFixed(2)} ms; process CPU ${(cpuMicros / result.completed).toFixed(0)} µs/req, main thread ` +
    `busy ${(summary.busyShare * 100).toFixed(0)} % of the time (${(summary.busyMicros / result.completed).toFixed(0)} µs/req sampled); ` +
    `PostgreSQL CPU ${(databaseMicros / result.completed).toFixed(0)} µs/req; socket writes per request: ` +
    `${perRequest(writes.other)} to PostgreSQL, ${perRequest(writes.http)} to the HTTP client`;
  return { row, summary, line };
}

/**
 * The profiles side by side: main-thread self time per request by group, and the secured read's
 * excess over the raw read; then the secured read's top functions with their main caller.
 */
function profileTables(raw: Profiled, detail: Profiled, list: Profiled): string {
  const perRequest = (profiled: Profiled, group: string) =>
    (profiled.summary.groups.get(group) ?? 0) / profiled.summary.requests;
  const names = [...detail.summary.groups.keys()].sort(
    (a, b) => perRequest(detail, b) - perRequest(detail, a),
  );
  const shown = names.slice(0, 18);
  const rest = (profiled: Profiled) =>
    [...profiled.summary.groups.keys()]
      .filter((name) => !shown.includes(name))
      .reduce((sum, name) => sum + perRequest(profiled, name), 0);
  const total = (profiled: Profiled) => profiled.summary.busyMicros / profiled.summary.requests;
  const micros = (value: number) => value.toFixed(0);
  const groups = markdownTable(
    [
      'self time, µs per request',
      `raw (row ${raw.row.id})`,
      `customer detail (row ${detail.row.id})`,
      'detail − raw',
      `lead list (row ${list.row.id})`,
    ],
    [
      ...shown.map((name) => [
        name,
        micros(perRequest(raw, name)),
        micros(perRequest(detail, name)),
        micros(perRequest(detail, name) - perRequest(raw, name)),
        micros(perRequest(list, name)),
      ]),
      [
        'everything else',
        micros(rest(raw)),
        micros(rest(detail)),
        micros(rest(detail) - rest(raw)),
        micros(rest(list)),
      ],
      [
        '**main thread, all**',
        micros(total(raw)),
        micros(total(detail)),
        micros(total(detail) - total(raw)),
        micros(total(list)),
      ],
    ],
  );
  const functionRows = (profiled: Profiled, top: number) =>
    [...profiled.summary.functions]
      .sort((a, b) => b[1].micros - a[1].micros)
      .slice(0, top)
      .map(([name, entry]) => [
        name,
        micros(entry.micros / profiled.summary.requests),
        `${((entry.micros / profiled.summary.busyMicros) * 100).toFixed(1)} %`,
        mainCaller(entry.callers),
      ]);
  const functions = (profiled: Profiled, top: number) =>
    markdownTable(
      [`row ${profiled.row.id}: function (self time)`, 'µs per request', 'share of busy', 'main caller'],
      functionRows(profiled, top),
    );
  return [groups, '', functions(detail, 20), '', functions(list, 12)].join('\n');
}

async function main(): Promise<void> {
  const crowd = { otherTenants: OTHER_TENANTS, leadsPerTenant: LEADS_PER_TENANT };
  progress(
    `cluster; then ${OTHER_TENANTS.toLocaleString('en')} other tenants × ${LEADS_PER_TENANT.toLocaleString('en')} leads + ` +
      `the measured tenant's ${MEASURED_LEADS.toLocaleString('en')}`,
  );
  const { cluster, admin, runtimeUrl, serverVersion, postmasterPid } = await startLeadsCluster();
  // The local app and the API process must share it: the tenant's data key is wrapped with it.
  const masterKey = randomBytes(32).toString('base64');
  const profileDir = mkdtempSync(join(tmpdir(), 'forecourt-bench-leads-profile-'));
  let local: Local | undefined;
  let api: HttpReadBench | undefined;
  let other: HttpReadBench | undefined;
  try {
    local = await startLocal(runtimeUrl, masterKey);
    const generator = await LeadsGenerator.open(admin, crowd, progress);
    let world: World;
    let counts: GeneratedCounts;
    try {
      const seeded = await generator.seedTenants();
      const sealStarted = performance.now();
      const sealed = await sealIdentifiers(local.app, seeded.customers);
      progress(
        `${sealed.length * 3} identifiers sealed with TenantKeys.seal in ${((performance.now() - sealStarted) / 1000).toFixed(1)} s`,
      );
      counts = await generator.generate(sealed);
      const customersOf = new Map<string, MeasuredCustomer[]>();
      for (const customer of seeded.customers) {
        customersOf.set(customer.storeId, [...(customersOf.get(customer.storeId) ?? []), customer]);
      }
      world = { ...seeded, customersOf };
    } finally {
      await generator.close();
    }
    progress(`generated in ${counts.seconds.toFixed(0)} s: ${JSON.stringify(counts)}`);

    const sessions = local.app.get(Sessions);
    const adminToken = (await sessions.issue(world.admin.userId)).token;
    const seller = world.sales[0]!;
    const salesToken = (await sessions.issue(seller.userId)).token;
    const deepCursor = await check(local, world, adminToken, salesToken);
    const sampleCustomer = pick(world.customers);
    const sellerCustomer = world.customersOf.get(seller.storeId!)![0]!;
    const planTable = await plans(local, [
      { id: 'customer detail SELECT (admin)', path: customerPath(sampleCustomer.id), token: adminToken },
      { id: 'lead list, admin, first page', path: leadsPath(), token: adminToken },
      {
        id: `lead list, admin, deep page (after ${DEEP_PAGES})`,
        path: leadsPath(deepCursor),
        token: adminToken,
      },
      { id: 'lead list, sales, first page', path: leadsPath(), token: salesToken },
    ]);
    progress('plans recorded; step times, one request at a time');
    const sellerCustomers = world.customersOf.get(seller.storeId!)!;
    const stepTable = await stepTimes(local, [
      {
        id: 'raw',
        label: 'GET /bench/raw/:id (raw pg pool)',
        path: () => `/bench/raw/${pick(world.accountIds)}`,
      },
      {
        id: 'detail admin',
        label: 'GET …/customers/:id, dealer_admin',
        path: () => customerPath(pick(world.customers).id),
        token: adminToken,
      },
      {
        id: 'detail sales',
        label: 'GET …/customers/:id, dealer_sales',
        path: () => customerPath(pick(sellerCustomers).id),
        token: salesToken,
      },
      {
        id: 'list admin',
        label: 'GET …/leads?limit=50, dealer_admin',
        path: () => leadsPath(),
        token: adminToken,
      },
      {
        id: 'list sales',
        label: 'GET …/leads?limit=50, dealer_sales',
        path: () => leadsPath(),
        token: salesToken,
      },
    ]);
    progress('statements of one request each, replayed for their PostgreSQL CPU');
    const sent = async (id: string, path: string, token?: string) => ({
      id,
      statements: await sentStatements(() =>
        token ? getJson(local!.origin, path, token) : fetch(`${local!.origin}${path}`).then((r) => r.text()),
      ),
    });
    const statementTable = await statementCosts(
      runtimeUrl,
      [
        await sent('raw', `/bench/raw/${pick(world.accountIds)}`),
        await sent('detail admin', customerPath(pick(world.customers).id), adminToken),
        await sent('list admin', leadsPath(), adminToken),
        await sent('list sales', leadsPath(), salesToken),
      ],
      STATEMENT_SECONDS,
    );
    assertOpened(
      await getJson<CustomerBody>(local.origin, customerPath(sellerCustomer.id), salesToken),
      sellerCustomer,
      'sales',
    );
    await local.close();
    local = undefined;

    // The API under load, as `npm run bench` runs it, with the profiler preload (idle until asked).
    progress(
      `starting the API process; sessions for ${CONNECTIONS} admin and ${CONNECTIONS} sales connections`,
    );
    const salesByConnection = Array.from(
      { length: CONNECTIONS },
      (_, index) => world.sales[index % world.sales.length]!,
    );
    const serverOptions = {
      runtimeUrl,
      tenantId: MEASURED_TENANT,
      poolSize: POOL_SIZE,
      masterKey,
      owners: 0,
      // One session per connection, as `npm run bench` does: no two requests in flight update
      // the same session row. The admin's 40 sessions are one person's; sales are 20 people.
      sessionsFor: [
        ...Array.from({ length: CONNECTIONS }, () => world.admin.userId),
        ...salesByConnection.map((member) => member.userId),
      ],
    };
    const environment = {
      NODE_OPTIONS: process.env.NODE_OPTIONS,
      LEADS_PROFILE_DIR: process.env.LEADS_PROFILE_DIR,
    };
    process.env.NODE_OPTIONS =
      `${environment.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'leads-profiler.js')}`.trim();
    process.env.LEADS_PROFILE_DIR = profileDir;
    try {
      api = await HttpReadBench.start(serverOptions, world.accountIds);
    } finally {
      for (const [name, value] of Object.entries(environment)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    }
    const adminTokens = api.tokens.slice(0, CONNECTIONS);
    const salesTokens = api.tokens.slice(CONNECTIONS);
    if (COMPARE_DIST) {
      progress(`starting the other build's API process (${COMPARE_DIST})`);
      other = await HttpReadBench.start(
        serverOptions,
        world.accountIds,
        join(COMPARE_DIST, 'bench', 'bench-server.js'),
      );
      assertOpened(
        await getJson<CustomerBody>(
          other.origin,
          customerPath(sellerCustomer.id),
          other.tokens[CONNECTIONS]!,
        ),
        sellerCustomer,
        'sales (the other build)',
      );
    }
    await api.check(['raw']);
    assertOpened(
      await getJson<CustomerBody>(api.origin, customerPath(sellerCustomer.id), salesTokens[0]!),
      sellerCustomer,
      'sales (API process)',
    );

    const rows: LoadRow[] = [
      {
        id: '1',
        label: 'raw pg key read, GET /bench/raw/:id (baseline, as `npm run bench` row 2)',
        target: { tokens: [], pathFor: () => () => `/bench/raw/${pick(world.accountIds)}` },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '2',
        label: 'customer detail, dealer_admin, every identifier opened',
        target: { tokens: adminTokens, pathFor: () => () => customerPath(pick(world.customers).id) },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '3',
        label: 'customer detail, dealer_sales (own store), every identifier opened',
        target: {
          tokens: salesTokens,
          pathFor: (connection) => {
            const mine = world.customersOf.get(salesByConnection[connection % CONNECTIONS]!.storeId!)!;
            return () => customerPath(pick(mine).id);
          },
        },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '4',
        label: 'customer detail, dealer_admin, audit off (bench-only switch)',
        target: { tokens: adminTokens, pathFor: () => () => customerPath(pick(world.customers).id) },
        auditOff: true,
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '5',
        label: 'lead list ?limit=50, dealer_admin, first page',
        target: { tokens: adminTokens, pathFor: () => () => leadsPath() },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '6',
        label: `lead list ?limit=50, dealer_admin, deep page (cursor after ${DEEP_PAGES} pages)`,
        target: { tokens: adminTokens, pathFor: () => () => leadsPath(deepCursor) },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
      {
        id: '7',
        label: 'lead list ?limit=50, dealer_sales, first page (assigned to self)',
        target: { tokens: salesTokens, pathFor: () => () => leadsPath() },
        samples: [],
        databaseCpu: [],
        machineCpu: [],
      },
    ];
    if (other) {
      const [raw, admin, sales] = rows as [LoadRow, LoadRow, LoadRow];
      const otherRaw = otherBuildRow(raw, other, raw.target.tokens);
      rows.push(
        otherRaw,
        { ...otherBuildRow(admin, other, other.tokens.slice(0, CONNECTIONS)), baseline: otherRaw },
        { ...otherBuildRow(sales, other, other.tokens.slice(CONNECTIONS)), baseline: otherRaw },
      );
    }
    progress(
      `${ROUNDS} rounds × ${rows.length} rows × (${WARMUP_SECONDS} + ${SECONDS}) s, ${CONNECTIONS} connections`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts one row later, so no row always follows the same one.
      const order = rows.map((_, index) => rows[(index + round) % rows.length]!);
      for (const row of order) {
        if (row.auditOff) await api.setAuditRecording(false);
        try {
          await measureRow(api, row, postmasterPid);
        } finally {
          if (row.auditOff) await api.setAuditRecording(true);
        }
      }
      const raw = rows[0]!.samples.at(-1)!;
      progress(
        `round ${round + 1}: ` +
          rows
            .map((row) => {
              const sample = row.samples.at(-1)!;
              return `${row.id} ${sample.opsPerSecond.toFixed(0)}/s (${(sample.opsPerSecond / raw.opsPerSecond).toFixed(2)}×) p99 ${sample.p99.toFixed(1)}`;
            })
            .join(', '),
      );
    }
    const pacedRate = Math.round(PACED_SHARE * median(rows[1]!.samples.map((sample) => sample.opsPerSecond)));
    progress(`rounds done; rows 1–3 paced at ${pacedRate} requests/s`);
    const paced = await pacedTable(api, [rows[0]!, rows[1]!, rows[2]!], pacedRate);
    progress('CPU profiles');
    const profiled = [
      await profileRow(api, profileDir, rows[0]!, postmasterPid),
      await profileRow(api, profileDir, rows[1]!, postmasterPid),
      await profileRow(api, profileDir, rows[4]!, postmasterPid),
    ] as const;

    const table = loadTable(rows);
    const perRound = (row: LoadRow) =>
      row.samples
        .map((sample, round) => (sample.opsPerSecond / rows[0]!.samples[round]!.opsPerSecond).toFixed(2))
        .join(', ');
    const aims = [rows[1]!, rows[2]!].map((row) => {
      const ratio = roundRatio(row.samples, rows[0]!.samples);
      const p99 = median(row.samples.map((sample) => sample.p99));
      return (
        `row ${row.id} (${row.label}) ÷ raw pg: ${ratio.toFixed(2)}× — ${ratio >= RATIO_AIM ? 'meets' : 'BELOW'} the ≥ ${RATIO_AIM}× aim ` +
        `(per round ${perRound(row)}); p99 ${p99.toFixed(1)} ms — ${p99 < P99_AIM_MS ? 'meets' : 'ABOVE'} the < ${P99_AIM_MS} ms aim`
      );
    });
    process.stdout.write(
      [
        `machine: ${machine(serverVersion)}`,
        '',
        `Data: ${counts.tenants.toLocaleString('en')} tenants, ${counts.stores.toLocaleString('en')} stores, ` +
          `${counts.users.toLocaleString('en')} users, ${counts.customers.toLocaleString('en')} customers, ` +
          `${counts.leads.toLocaleString('en')} leads, ${counts.consentEvents.toLocaleString('en')} consent events ` +
          `(generated, indexed and analysed in ${counts.seconds.toFixed(0)} s). Measured tenant: ${MEASURED_STORES} stores, ` +
          `${MEASURED_CUSTOMERS.toLocaleString('en')} customers (identifiers sealed under its key), ${MEASURED_LEADS.toLocaleString('en')} leads, ` +
          `${MEASURED_STORES * MEASURED_SALES_PER_STORE} dealer_sales with ${MEASURED_LEADS / (MEASURED_STORES * MEASURED_SALES_PER_STORE)} leads each.`,
        '',
        `Load: ${CONNECTIONS} connections (one session each), API pool and raw pool of ${POOL_SIZE}, ${WARMUP_SECONDS} s warm-up + ` +
          `${SECONDS} s per run, ${ROUNDS} interleaved rounds; medians; ratios are medians of per-round ratios.`,
        '',
        table,
        '',
        ...aims,
        ...[rows[0]!, rows[1]!, rows[2]!].map(capacity),
        `row 7 (sales list) ÷ raw pg per round: ${perRound(rows[6]!)}; row 5 (admin list): ${perRound(rows[4]!)}`,
        ...(other ? [comparison(rows)] : []),
        '',
        `Rows 1–3 again at one fixed rate, ${(PACED_SHARE * 100).toFixed(0)} % of what row 2 served above ` +
          `(${CONNECTIONS} connections, each waiting for its answer; ${PACED_ROUNDS} interleaved rounds, medians; ` +
          'each response timed from when it was due to be sent):',
        '',
        paced,
        '',
        planTable,
        '',
        `Step wall times, one request at a time (${STEP_REQUESTS} after ${STEP_WARMUP} warm-up, medians; an app in the bench process, ` +
          'client on the same process; steps not on a route are empty):',
        '',
        stepTable,
        '',
        'PostgreSQL CPU of the statements one request sends: captured from the local app, each run again one at a time ' +
          `for ${STATEMENT_SECONDS} s on a connection of its own as the runtime role under the same context, each execution ` +
          'its own transaction as in the app (audit events get new ids); CPU of that backend from /proc; planning and ' +
          'execution times from EXPLAIN ANALYZE (2nd run, rolled back):',
        '',
        statementTable,
        '',
        `CPU profiles of the API process (V8 sampling profiler every 250 µs, started in the process by the bench-only ` +
          `preload leads-profiler.ts), ${PROFILE_SECONDS} s of each row's load after the rounds:`,
        '',
        ...profiled.map((entry) => entry.line),
        '',
        profileTables(...profiled),
        '',
        `whole run: ${clock()}`,
        '',
      ].join('\n'),
    );
  } finally {
    if (local) await local.close().catch(() => undefined);
    if (api) await api.stop().catch(() => undefined);
    if (other) await other.stop().catch(() => undefined);
    await cluster.stop();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
