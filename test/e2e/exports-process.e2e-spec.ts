import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Pool } from 'pg';
import type { Manifest } from '@forecourt/lifecycle';
import {
  ApiProcess,
  createGroup,
  type Group,
  inTenant,
  readArchive,
  startTestApi,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';

/**
 * The export job in the compiled API running as its own process, on a tenant of 200,000 rows:
 * memory stays flat while it streams, progress shows while it runs, and killing the process
 * midway leaves no archive marked done — the export is restarted cleanly by the next process.
 * An in-process API (which runs no export jobs: `EXPORT_POLL_MS=0`) creates the group; the
 * child processes share its database, data directory and master key, as instances do.
 */

const VEHICLES = 100_000;
const MESSAGES = 100_000;
const MB = 1024 * 1024;

const mail = temporaryMailDir();
const downloads = mkdtempSync(join(tmpdir(), 'forecourt-export-download-'));
let api: TestApi;
let runtime: Pool;
let group: Group;
let child: ApiProcess | null = null;

function childEnv(): Record<string, string> {
  return {
    DATA_DIR: api.dataDir,
    MASTER_KEY: api.masterKey,
    DATABASE_URL: api.db.runtimeUrl,
    MIGRATION_DATABASE_URL: api.db.ownerUrl,
    MAIL_DIR: mail.path,
    LOG_LEVEL: 'warn',
    EXPORT_POLL_MS: '100',
    EXPORT_LEASE_SECONDS: '2',
  };
}

async function startChild(): Promise<ApiProcess> {
  child = await ApiProcess.start(childEnv());
  await child.waitUntilReady();
  return child;
}

const admin = () => group.tokens['admin@export-big.test']!;

async function call(instance: ApiProcess, method: 'GET' | 'POST', path: string, body?: object) {
  const response = await fetch(instance.url(`/v1/tenants/${group.tenantId}${path}`), {
    method,
    headers: { authorization: `Bearer ${admin()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface ExportState {
  status: string;
  progress: { rowsDone: number; rowsTotal: number | null };
  rowCount: number | null;
}

async function stateOf(instance: ApiProcess, exportId: string): Promise<ExportState> {
  const answer = await call(instance, 'GET', `/exports/${exportId}`);
  if (answer.status !== 200) throw new Error(`GET export: ${answer.status}`);
  return answer.body as unknown as ExportState;
}

/** Polls until `done` says so, keeping every state seen on the way. */
async function watch(
  instance: ApiProcess,
  exportId: string,
  done: (state: ExportState) => boolean,
  seen: ExportState[],
  timeoutMs = 90_000,
): Promise<ExportState> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = await stateOf(instance, exportId);
    seen.push(state);
    if (done(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`export ${exportId} not there within ${timeoutMs} ms: ${JSON.stringify(seen.at(-1))}`);
}

/** Peak resident memory of a instance (`VmHWM`), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmHWM:'));
  return Number(/(\d+)\s*kB/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

async function downloadTo(instance: ApiProcess, exportId: string): Promise<string> {
  const response = await fetch(instance.url(`/v1/tenants/${group.tenantId}/exports/${exportId}/download`), {
    headers: { authorization: `Bearer ${admin()}` },
  });
  expect(response.status).toBe(200);
  const path = join(downloads, `${exportId}.zip`);
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(path));
  return path;
}

/** The archive read back whole: each table's lines against the database, each hash against the manifest. */
async function expectCompleteArchive(path: string, format: 'jsonl' | 'csv'): Promise<Manifest> {
  const files = await readArchive(path, (name) => name === 'manifest.json');
  const manifest = JSON.parse(files.get('manifest.json')!.bytes!.toString('utf8')) as Manifest;
  for (const listed of manifest.files) {
    const file = files.get(listed.path);
    expect({ path: listed.path, sha256: file?.sha256 }).toEqual({ path: listed.path, sha256: listed.sha256 });
  }
  for (const [table, rows] of [
    ['vehicles', VEHICLES + 1],
    ['messages', MESSAGES],
  ] as const) {
    const file = files.get(`${table}.${format}`)!;
    expect({ table, lines: file.lines - (format === 'csv' ? 1 : 0) }).toEqual({ table, lines: rows });
    expect(manifest.files.find((entry) => entry.path === file.name)?.rows).toBe(rows);
  }
  return manifest;
}

beforeAll(async () => {
  api = await startTestApi({ env: { MAIL_DIR: mail.path, EXPORT_POLL_MS: '0' } });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 1 });
  group = await createGroup(api, mail.path, { slug: 'export-big', stores: ['Big Lot'] });
  const storeId = group.storeIds['Big Lot']!;
  // 200,000 rows (plus one lead, customer and vehicle for the messages), made in SQL; the
  // messages' bodies are hashes, which compress poorly, so the files add up to more than the
  // memory budget and an implementation that held them would fail here.
  await inTenant(runtime, { tenantId: group.tenantId }, async (client) => {
    await client.query(
      `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, mileage, price_minor, currency)
       select $1, gen_random_uuid(), $2, lpad(upper(to_hex(n)), 17, '0'), 2000 + n % 25, 'Make ' || n % 97,
              'Model with a longer name ' || n, n % 300000, 1000000 + n, 'USD'
         from generate_series(1, $3::int) as n`,
      [group.tenantId, storeId, VEHICLES],
    );
    const { rows } = await client.query<{ customer: string; vehicle: string; lead: string }>(
      `with customer as (
         insert into customers (tenant_id, id, store_id, name) values ($1, gen_random_uuid(), $2, 'Big Buyer')
         returning id),
       vehicle as (
         insert into vehicles (tenant_id, id, store_id, vin, year, make, model, mileage, price_minor, currency)
         values ($1, gen_random_uuid(), $2, '1M8GDM9AXKP042788', 2019, 'Lead', 'Car', 1, 1, 'USD') returning id)
       insert into leads (tenant_id, id, store_id, customer_id, vehicle_id, source)
       select $1, gen_random_uuid(), $2, customer.id, vehicle.id, 'web' from customer, vehicle
       returning id as lead`,
      [group.tenantId, storeId],
    );
    await client.query(
      `insert into messages (tenant_id, id, lead_id, store_id, direction, channel, body)
       select $1, gen_random_uuid(), $2, $3, 'inbound', 'email',
              'Message ' || n || ': ' || (select string_agg(md5(n || '-' || k), ' ') from generate_series(1, 20) as k)
         from generate_series(1, $4::int) as n`,
      [group.tenantId, rows[0]!.lead, storeId, MESSAGES],
    );
  });
}, 120_000);

afterAll(async () => {
  if (child) await child.stop('SIGKILL');
  await runtime?.end();
  await api?.close();
  mail.remove();
  rmSync(downloads, { recursive: true, force: true });
});

describe('an export of 200,000 rows in the compiled API', () => {
  it('completes with peak memory growing by less than 100 MB, showing its progress while it runs', async () => {
    const instance = await startChild();
    const pid = instance.child.pid!;
    expect((await call(instance, 'GET', '/exports/0190a0b0-0000-7000-8000-000000000000')).status).toBe(404);
    const before = peakRss(pid);

    const requested = await call(instance, 'POST', '/exports', { format: 'jsonl' });
    expect(requested.status).toBe(202);
    const exportId = String(requested.body.id);
    const seen: ExportState[] = [];
    const finished = await watch(instance, exportId, (state) => state.status === 'completed', seen);
    const growth = peakRss(pid) - before;

    expect(finished.rowCount).toBeGreaterThan(VEHICLES + MESSAGES);
    expect(growth).toBeLessThan(100 * MB);
    const midway = seen.filter(
      (state) =>
        state.status === 'running' &&
        state.progress.rowsTotal !== null &&
        state.progress.rowsDone > 0 &&
        state.progress.rowsDone < state.progress.rowsTotal,
    );
    expect(midway.length).toBeGreaterThan(0);
    const manifest = await expectCompleteArchive(await downloadTo(instance, exportId), 'jsonl');
    expect(manifest.rowCount).toBe(finished.rowCount);
    // What streamed through is more than the budget: holding it would have broken it.
    expect(manifest.files.reduce((sum, file) => sum + file.size, 0)).toBeGreaterThan(100 * MB);
  }, 120_000);
});

describe('an export whose process is killed midway', () => {
  it('is never marked done half-written: the next process restarts it and completes a whole archive', async () => {
    const first = child ?? (await startChild());
    const requested = await call(first, 'POST', '/exports', { format: 'csv' });
    expect(requested.status).toBe(202);
    const exportId = String(requested.body.id);
    const seen: ExportState[] = [];
    await watch(first, exportId, (state) => state.status === 'running' && state.progress.rowsDone > 0, seen);
    await first.stop('SIGKILL');
    child = null;

    const { rows: stale } = await inTenant(runtime, { tenantId: group.tenantId }, (client) =>
      client.query<{ status: string; attempts: number }>(
        'select status, attempts from exports where id = $1',
        [exportId],
      ),
    );
    expect(stale[0]).toEqual({ status: 'running', attempts: 1 });

    const second = await startChild();
    const finished = await watch(
      second,
      exportId,
      (state) => ['completed', 'failed'].includes(state.status),
      seen,
    );
    expect(finished.status).toBe('completed');
    // Never "completed" before the restart finished: every state seen before the last was not done.
    expect(seen.slice(0, -1).every((state) => state.status !== 'completed')).toBe(true);

    const { rows: done } = await inTenant(runtime, { tenantId: group.tenantId }, (client) =>
      client.query<{ attempts: number; object_path: string }>(
        'select attempts, object_path from exports where id = $1',
        [exportId],
      ),
    );
    expect(done[0]).toEqual({ attempts: 2, object_path: `exports/${exportId}/attempt-2.zip` });
    const manifest = await expectCompleteArchive(await downloadTo(second, exportId), 'csv');
    expect(manifest.rowCount).toBe(finished.rowCount);
  }, 120_000);
});

describe('an export running when its process is asked to stop (SIGTERM)', () => {
  it('goes back to the queue, uncounted, and the process still exits promptly; the next one completes it', async () => {
    const first = child ?? (await startChild());
    const requested = await call(first, 'POST', '/exports', { format: 'jsonl' });
    const exportId = String(requested.body.id);
    await watch(first, exportId, (state) => state.status === 'running' && state.progress.rowsDone > 0, []);
    const stopped = await first.stop('SIGTERM');
    child = null;
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(8_000);

    const { rows } = await inTenant(runtime, { tenantId: group.tenantId }, (client) =>
      client.query<{ status: string; attempts: number; lease_until: Date | null }>(
        'select status, attempts, lease_until from exports where id = $1',
        [exportId],
      ),
    );
    expect(rows[0]).toEqual({ status: 'queued', attempts: 0, lease_until: null });

    const next = await startChild();
    const finished = await watch(
      next,
      exportId,
      (state) => ['completed', 'failed'].includes(state.status),
      [],
    );
    expect(finished.status).toBe('completed');
    await expectCompleteArchive(await downloadTo(next, exportId), 'jsonl');
  }, 120_000);
});
