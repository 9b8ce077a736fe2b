/**
 * `npm run bench:inventory`: issue 6's figures.
 *
 * (1) The vehicle list of one tenant (10,000 vehicles, 8 stores) through the real app — session
 * and access guards, a dealer_admin's Bearer session — in two databases of one embedded cluster:
 * `crowded` (the tenant among 1,000 others with 1,000 vehicles each) and `alone` (the tenant
 * only), one app per database, both up, interleaved shape by shape over the rounds. Each list
 * shape's crowded ÷ alone ratio should be close to 1; each shape's plan is recorded once.
 *
 * (2) Throughput of encrypted media against plain file copies: a 256 MiB file through
 * `ObjectStore.put`/`open` (local driver, tenant key), and a 50 MiB PDF uploaded and downloaded
 * through `POST/GET /v1/tenants/:t/vehicles/:id/media…`, with this process's peak RSS growth.
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Sessions } from '@forecourt/auth';
import { loadConfig } from '@forecourt/config';
import { newId } from '@forecourt/core';
import { type TenantScope, TenantTransaction } from '@forecourt/database';
import { ObjectStore } from '@forecourt/storage';
import { createApp } from '../apps/api/src/create-app';
import {
  type InventoryDatabase,
  MEASURED_ADMIN,
  MEASURED_TENANT,
  MEASURED_VEHICLES,
  startInventoryCluster,
} from './inventory-database';
import {
  download,
  hashingSink,
  MiB,
  nullSink,
  startPlainServer,
  timed,
  uploadMultipart,
  withPeakRss,
  writeRandomFile,
} from './inventory-transfer';
import { median, quantile, type Sample } from './measure';
import { machine, markdownTable } from './report';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 10;
const OTHER_TENANTS = Number(process.env.BENCH_INVENTORY_TENANTS ?? 1000);
const VEHICLES_PER_TENANT = 1000;
/** Pages followed from the first one to find the deep page's cursor. */
const DEEP_PAGES = 100;
const LARGE_FILE = 256 * MiB;
const HTTP_FILE = 50 * MiB;
const TRANSFER_ROUNDS = Number(process.env.BENCH_TRANSFER_ROUNDS ?? 5);

const STARTED = performance.now();

/** A progress line on stderr, with the minutes and seconds since the start. */
function progress(line: string): void {
  const seconds = Math.floor((performance.now() - STARTED) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  process.stderr.write(`bench:inventory ${clock}: ${line}\n`);
}

interface Api {
  name: 'crowded' | 'alone';
  app: NestFastifyApplication;
  origin: string;
  token: string;
  dataDir: string;
}

async function startApi(name: Api['name'], db: InventoryDatabase): Promise<Api> {
  const dataDir = mkdtempSync(join(tmpdir(), `forecourt-bench-inventory-${name}-`));
  const app = await createApp({
    config: loadConfig({
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      MASTER_KEY: randomBytes(32).toString('base64'),
    }),
    runtimeDatabaseUrl: db.runtimeUrl,
    poolSize: CONNECTIONS,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const token = (await app.get(Sessions).issue(MEASURED_ADMIN)).token;
  return { name, app, origin: `http://127.0.0.1:${port}`, token, dataDir };
}

const listPath = (query: string) => `/v1/tenants/${MEASURED_TENANT}/vehicles?limit=50${query}`;

interface VehiclePage {
  data: { id: string }[];
  nextCursor: string | null;
}

async function getJson<T>(api: Api, path: string): Promise<T> {
  const response = await fetch(`${api.origin}${path}`, { headers: { authorization: `Bearer ${api.token}` } });
  if (response.status !== 200)
    throw new Error(`${api.name} GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** One list shape: what follows `?limit=50`. */
interface Shape {
  id: string;
  label: string;
  query: string;
}

function shapes(storeId: string, deepCursor: string): Shape[] {
  return [
    { id: 'first', label: 'no filter, first page', query: '' },
    { id: 'status', label: 'status=in_stock', query: '&status=in_stock' },
    { id: 'make', label: 'make=Toyota&model=Corolla', query: '&make=Toyota&model=Corolla' },
    { id: 'year', label: 'yearMin=2015&yearMax=2020', query: '&yearMin=2015&yearMax=2020' },
    { id: 'price', label: 'priceMin=1500000&priceMax=2000000', query: '&priceMin=1500000&priceMax=2000000' },
    { id: 'q', label: 'q=corol (prefix of make, model or VIN)', query: '&q=corol' },
    { id: 'store', label: 'storeId=<one of 8 stores>', query: `&storeId=${storeId}` },
    { id: 'deep', label: `deep page (cursor after ${DEEP_PAGES} pages)`, query: `&cursor=${deepCursor}` },
  ];
}

/** The cursor of page `DEEP_PAGES + 1` of the unfiltered list, the same in both databases. */
async function deepCursor(apis: readonly Api[]): Promise<string> {
  const cursors = await Promise.all(
    apis.map(async (api) => {
      let cursor: string | null = null;
      for (let page = 0; page < DEEP_PAGES; page++) {
        const next: VehiclePage = await getJson<VehiclePage>(
          api,
          listPath(cursor ? `&cursor=${cursor}` : ''),
        );
        if (!next.nextCursor) throw new Error(`${api.name}: the list ended after ${page + 1} pages`);
        cursor = next.nextCursor;
      }
      return cursor!;
    }),
  );
  if (new Set(cursors).size !== 1) throw new Error('the deep cursors differ between the databases');
  return cursors[0]!;
}

/** autocannon over `path`: rate of 2xx, and p50/p99 from each response's own time (not whole ms). */
async function load(api: Api, path: string, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${api.origin}${path}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers: { authorization: `Bearer ${api.token}` },
      },
      (error: Error | null, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0)
    throw new Error(`${api.name} GET ${path}: ${failed} failed requests (${result.non2xx} non-2xx)`);
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: result['2xx'] / result.duration,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

type StatementFn = (scope: TenantScope, sql: string, params?: unknown[]) => Promise<unknown>;

/**
 * The list's own statement, as the app sends it (captured from `TenantTransaction.statement` during
 * one request), run again under `EXPLAIN (ANALYZE, BUFFERS)` in a tenant transaction of the same
 * scope, as the runtime role: the plan row-level security and all. The second of two runs.
 */
async function explain(api: Api, path: string): Promise<string[]> {
  const transactions = api.app.get(TenantTransaction);
  const shipped = transactions.statement.bind(transactions) as StatementFn;
  let captured: { scope: TenantScope; sql: string; params: unknown[] } | undefined;
  const capturing: StatementFn = (scope, sql, params = []) => {
    if (/from vehicles v\b/.test(sql) && /order by v\.id limit/.test(sql)) captured = { scope, sql, params };
    return shipped(scope, sql, params);
  };
  Object.defineProperty(transactions, 'statement', { value: capturing, configurable: true, writable: true });
  try {
    await getJson(api, path);
  } finally {
    delete (transactions as unknown as Record<string, unknown>).statement; // the prototype's method again
  }
  if (!captured) throw new Error(`${api.name} ${path}: the list statement was not captured`);
  const { scope, sql, params } = captured;
  let plan: string[] = [];
  for (let run = 0; run < 2; run++) {
    const { rows } = await transactions.run(scope, (tx) =>
      tx.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params),
    );
    plan = rows.map((row) => row['QUERY PLAN']);
  }
  return plan;
}

/** Plan nodes (without row-level security's InitPlans), rows filtered away, top buffers, time. */
function planSummary(plan: readonly string[]): {
  nodes: string;
  filtered: number;
  buffers: string;
  ms: string;
} {
  const nodes: string[] = [];
  let filtered = 0;
  for (const line of plan) {
    const node = /^\s*(?:->\s*)?([A-Z][A-Za-z ]+?(?: using \w+)?(?: on \w+(?: \w+)?)?)\s+\(cost=/.exec(line);
    if (node && !/^(Result|InitPlan)/.test(node[1]!)) nodes.push(node[1]!.replace(/ on vehicles v$/, ''));
    const removed = /Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(line);
    if (removed) filtered += Number(removed[1]);
    const sort = /Sort Method: (.+)$/.exec(line);
    if (sort) nodes.push(`(${sort[1]!.trim().replace(/\s+/g, ' ')})`);
  }
  const buffers = plan.find((line) => /Buffers:/.test(line))?.replace(/^.*Buffers:\s*/, '') ?? '';
  const ms = /Execution Time: ([\d.]+) ms/.exec(plan.join('\n'))?.[1] ?? '';
  return { nodes: nodes.join(' → '), filtered, buffers, ms };
}

const ms = (value: number) => value.toFixed(2);
const times = (value: number) => `${value.toFixed(2)}×`;
/** The median over rounds of each round's crowded ÷ alone ratio of one field. */
const roundRatio = (crowded: readonly Sample[], alone: readonly Sample[], field: keyof Sample) =>
  median(crowded.map((sample, round) => (sample[field] as number) / (alone[round]![field] as number)));

async function listPart(apis: { crowded: Api; alone: Api }, storeId: string): Promise<string> {
  const both = [apis.crowded, apis.alone];
  progress(`following ${DEEP_PAGES} pages for the deep cursor`);
  const cursor = await deepCursor(both);
  const all = shapes(storeId, cursor);

  // The same tenant, the same rows: every shape's first page must be identical in both databases.
  for (const shape of all) {
    const [crowded, alone] = await Promise.all(
      both.map((api) => getJson<VehiclePage>(api, listPath(shape.query))),
    );
    const ids = (page: VehiclePage) => page.data.map((row) => row.id).join();
    if (ids(crowded!) !== ids(alone!) || crowded!.data.length === 0) {
      throw new Error(`${shape.id}: the pages differ between the databases (or are empty)`);
    }
    progress(`${shape.id}: ${crowded!.data.length} rows, identical in both databases`);
  }

  const plans: string[][] = [];
  for (const shape of all) {
    const crowded = await explain(apis.crowded, listPath(shape.query));
    const alone = await explain(apis.alone, listPath(shape.query));
    process.stderr.write(`--- plan ${shape.id}, crowded ---\n${crowded.join('\n')}\n`);
    process.stderr.write(`--- plan ${shape.id}, alone ---\n${alone.join('\n')}\n`);
    const c = planSummary(crowded);
    const a = planSummary(alone);
    plans.push([
      shape.id,
      c.nodes,
      String(c.filtered),
      c.buffers,
      c.ms,
      a.nodes === c.nodes ? 'same' : a.nodes,
      a.buffers,
      a.ms,
    ]);
  }

  progress('warm-up: one second per shape and database');
  for (const shape of all) for (const api of both) await load(api, listPath(shape.query), 1);

  const samples = new Map(all.map((shape) => [shape.id, { crowded: [] as Sample[], alone: [] as Sample[] }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const shape of all) {
      // Alternate which database goes first, so drift within a round cancels out.
      const order = round % 2 ? both : [apis.alone, apis.crowded];
      for (const api of order) {
        const sample = await load(api, listPath(shape.query), SECONDS);
        samples.get(shape.id)![api.name].push(sample);
      }
      const { crowded, alone } = samples.get(shape.id)!;
      progress(
        `round ${round} ${shape.id}: crowded p50 ${ms(crowded.at(-1)!.p50)} ms ${crowded.at(-1)!.opsPerSecond.toFixed(0)}/s, ` +
          `alone p50 ${ms(alone.at(-1)!.p50)} ms ${alone.at(-1)!.opsPerSecond.toFixed(0)}/s`,
      );
    }
  }

  const rows = all.map((shape) => {
    const { crowded, alone } = samples.get(shape.id)!;
    const mid = (list: Sample[], field: keyof Sample) =>
      median(list.map((sample) => sample[field] as number));
    return [
      shape.id,
      shape.label,
      ms(mid(crowded, 'p50')),
      ms(mid(alone, 'p50')),
      times(roundRatio(crowded, alone, 'p50')),
      ms(mid(crowded, 'p99')),
      ms(mid(alone, 'p99')),
      times(roundRatio(crowded, alone, 'p99')),
      mid(crowded, 'opsPerSecond').toFixed(0),
      mid(alone, 'opsPerSecond').toFixed(0),
      times(roundRatio(crowded, alone, 'opsPerSecond')),
    ];
  });
  const latencyTable = markdownTable(
    [
      'shape',
      'query (after ?limit=50)',
      'crowded p50 ms',
      'alone p50 ms',
      'p50 crowded÷alone',
      'crowded p99 ms',
      'alone p99 ms',
      'p99 crowded÷alone',
      'crowded req/s',
      'alone req/s',
      'req/s crowded÷alone',
    ],
    rows,
  );
  const planTable = markdownTable(
    [
      'shape',
      'crowded plan (EXPLAIN ANALYZE, 2nd run)',
      'rows filtered',
      'crowded buffers',
      'crowded ms',
      'alone plan',
      'alone buffers',
      'alone ms',
    ],
    plans,
  );
  return `${latencyTable}\n\n${planTable}`;
}

/**
 * Before each row that writes: `sync`, so the kernel's write-back of the previous row's hundreds
 * of MiB does not land in this one's time. Nothing is synced during a timed row (no row fsyncs).
 */
function settle(): void {
  execFileSync('sync');
}

interface TransferRow {
  id: string;
  label: string;
  bytes: number;
  seconds: number[];
  rss?: number[];
}

async function transferPart(api: Api): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'forecourt-bench-transfer-'));
  const plainServer = await startPlainServer(join(work, 'plain-upload.bin'), () => join(work, 'http.pdf'));
  try {
    progress(`writing a ${LARGE_FILE / MiB} MiB and a ${HTTP_FILE / MiB} MiB file`);
    const large = join(work, 'large.bin');
    await writeRandomFile(large, LARGE_FILE);
    const pdf = join(work, 'http.pdf');
    const pdfSha = await writeRandomFile(pdf, HTTP_FILE, Buffer.from('%PDF-1.7\n'));
    const objects = api.app.get(ObjectStore);
    const owner = { tenantId: MEASURED_TENANT };
    const auth = { authorization: `Bearer ${api.token}` };
    const vehicle = (await getJson<VehiclePage>(api, listPath(''))).data[0]!.id;
    const mediaUrl = `${api.origin}/v1/tenants/${MEASURED_TENANT}/vehicles/${vehicle}/media`;

    const row = (id: string, label: string, bytes: number, rss = false): TransferRow => ({
      id,
      label,
      bytes,
      seconds: [],
      ...(rss ? { rss: [] } : {}),
    });
    const rows = {
      copy: row(
        'copy',
        `plain copy, file → file (fs streams, pipeline), ${LARGE_FILE / MiB} MiB`,
        LARGE_FILE,
      ),
      read: row('read', 'plain read, file → discarding sink', LARGE_FILE),
      sha: row('sha', 'plain read + SHA-256, file → hashing sink', LARGE_FILE),
      put: row('put', 'ObjectStore.put (SHA-256 + encrypt + write), local driver, tenant key', LARGE_FILE),
      open: row('open', 'ObjectStore.open (read + decrypt) → discarding sink', LARGE_FILE),
      plainUp: row('plainUp', `plain HTTP upload, raw body → file, ${HTTP_FILE / MiB} MiB`, HTTP_FILE, true),
      up: row('up', 'POST …/vehicles/:id/media, multipart, streamed', HTTP_FILE, true),
      plainDown: row('plainDown', 'plain HTTP download, file → hashing sink', HTTP_FILE, true),
      down: row('down', 'GET …/media/:mediaId → hashing sink', HTTP_FILE, true),
    };
    const copyTarget = join(work, 'copy.bin');

    for (let round = 0; round <= TRANSFER_ROUNDS; round++) {
      const record = (target: TransferRow, seconds: number, rss?: number) => {
        if (round === 0) return; // warm-up
        target.seconds.push(seconds);
        if (rss !== undefined) target.rss?.push(rss);
      };
      settle();
      record(rows.copy, await timed(() => pipeline(createReadStream(large), createWriteStream(copyTarget))));
      await rm(copyTarget);
      record(rows.read, await timed(() => pipeline(createReadStream(large), nullSink())));
      record(rows.sha, await timed(() => pipeline(createReadStream(large), hashingSink())));
      const path = `bench/${newId()}`;
      settle();
      record(rows.put, await timed(() => objects.put(owner, path, createReadStream(large))));
      record(
        rows.open,
        await timed(async () => {
          const body = await objects.open(owner, path);
          if (!body) throw new Error('the object just stored is missing');
          await pipeline(body, nullSink());
        }),
      );
      await objects.delete(owner, path);

      settle();
      const plainUp = await withPeakRss(() =>
        timed(() =>
          uploadMultipart(`${plainServer.origin}/upload`, {}, pdf, 'brochure.pdf', 'application/pdf'),
        ),
      );
      record(rows.plainUp, plainUp.result, plainUp.growth);
      let uploaded: { status: number; body: string } | undefined;
      settle();
      const up = await withPeakRss(() =>
        timed(async () => {
          uploaded = await uploadMultipart(mediaUrl, auth, pdf, 'brochure.pdf', 'application/pdf');
        }),
      );
      if (uploaded?.status !== 201) throw new Error(`upload: ${uploaded?.status} ${uploaded?.body}`);
      const medium = JSON.parse(uploaded.body) as { id: string; sha256: string; size: number };
      if (medium.sha256 !== pdfSha || medium.size !== HTTP_FILE)
        throw new Error('upload: wrong size or SHA-256');
      record(rows.up, up.result, up.growth);

      const plainSink = hashingSink();
      const plainDown = await withPeakRss(() =>
        timed(() => download(`${plainServer.origin}/download`, {}, plainSink)),
      );
      if (plainSink.digest() !== pdfSha) throw new Error('plain download: wrong bytes');
      record(rows.plainDown, plainDown.result, plainDown.growth);
      const sink = hashingSink();
      let status = 0;
      const down = await withPeakRss(() =>
        timed(async () => {
          status = await download(`${mediaUrl}/${medium.id}`, auth, sink);
        }),
      );
      if (status !== 200 || sink.digest() !== pdfSha) throw new Error(`download: ${status}, or wrong bytes`);
      record(rows.down, down.result, down.growth);
      const deleted = await fetch(`${mediaUrl}/${medium.id}`, { method: 'DELETE', headers: auth });
      if (deleted.status !== 204) throw new Error(`delete medium: ${deleted.status}`);
      if (round > 0) {
        const rate = (target: TransferRow) => (target.bytes / MiB / target.seconds.at(-1)!).toFixed(0);
        progress(
          `transfer round ${round}: copy ${rate(rows.copy)}, put ${rate(rows.put)}, open ${rate(rows.open)}, ` +
            `upload ${rate(rows.up)} (plain ${rate(rows.plainUp)}), download ${rate(rows.down)} ` +
            `(plain ${rate(rows.plainDown)}) MiB/s`,
        );
      }
    }

    const rates = (target: TransferRow) => target.seconds.map((seconds) => target.bytes / MiB / seconds);
    const ratioTo = (target: TransferRow, baseline: TransferRow) =>
      times(median(rates(target).map((rate, round) => rate / rates(baseline)[round]!)));
    const httpBaseline: Record<string, TransferRow> = { up: rows.plainUp, down: rows.plainDown };
    const cells = Object.values(rows).map((target) => {
      const list = rates(target);
      const middle = median(list);
      const spread = ((Math.max(...list) - Math.min(...list)) / 2 / middle) * 100;
      const baseline = httpBaseline[target.id];
      return [
        target.id,
        target.label,
        middle.toFixed(0),
        `±${spread.toFixed(1)}%`,
        ratioTo(target, rows.copy),
        baseline ? ratioTo(target, baseline) : '',
        target.rss
          ? `${(median(target.rss) / MiB).toFixed(1)} / ${(Math.max(...target.rss) / MiB).toFixed(1)}`
          : '',
      ];
    });
    return markdownTable(
      [
        'row',
        'what',
        'MiB/s (median)',
        'spread',
        '÷ plain copy',
        '÷ plain HTTP',
        'RSS growth MiB (median / max)',
      ],
      cells,
    );
  } finally {
    await plainServer.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  progress(
    `generating: ${OTHER_TENANTS} other tenants × ${VEHICLES_PER_TENANT} vehicles + ${MEASURED_VEHICLES}`,
  );
  const cluster = await startInventoryCluster(
    { otherTenants: OTHER_TENANTS, vehiclesPerTenant: VEHICLES_PER_TENANT },
    progress,
  );
  const apis: Api[] = [];
  try {
    const crowded = await startApi('crowded', cluster.crowded);
    apis.push(crowded);
    const alone = await startApi('alone', cluster.alone);
    apis.push(alone);
    progress('both apps listening');
    const lists = await listPart({ crowded, alone }, cluster.storeIds[0]!);
    progress('list rounds done; media transfers next');
    const transfers = await transferPart(alone);
    const { crowded: c, alone: a } = cluster;
    process.stdout.write(
      [
        `machine: ${machine(cluster.serverVersion)}`,
        '',
        `Vehicle list of one tenant (${MEASURED_VEHICLES.toLocaleString('en')} vehicles), GET /v1/tenants/:t/vehicles as a dealer_admin, ` +
          `${CONNECTIONS} connections, ${ROUNDS} interleaved rounds × ${SECONDS} s per shape and database. ` +
          `crowded: ${c.tenants.toLocaleString('en')} tenants, ${c.vehicles.toLocaleString('en')} vehicles ` +
          `(generated + VACUUM ANALYZE in ${c.generatedSeconds.toFixed(0)} s); alone: ${a.tenants} tenant, ` +
          `${a.vehicles.toLocaleString('en')} vehicles.`,
        '',
        lists,
        '',
        `Media throughput, ${TRANSFER_ROUNDS} rounds (after one warm-up), medians; ratios are medians of per-round ratios. ` +
          'RSS: growth of this process (API, client and plain server together) over its value just before, sampled every 10 ms.',
        '',
        transfers,
        '',
      ].join('\n'),
    );
  } finally {
    for (const api of apis) {
      await api.app.close();
      rmSync(api.dataDir, { recursive: true, force: true });
    }
    await cluster.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
