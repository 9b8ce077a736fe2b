import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { EMBEDDED_OWNER_ROLE, withClient } from '@forecourt/database';
import type { WorkerResult } from './backup-worker';
import { LeadsGenerator, MEASURED_CUSTOMERS, startLeadsCluster } from './leads-database';
import { median } from './measure';
import { machine, markdownTable } from './report';

/**
 * Issue 9's figures: backup and restore throughput (MB/s of table data, the `COPY` text) and
 * peak memory for a database of about 1 GB — 1,000 tenants with stores, people, customers,
 * leads, consent events, vehicles and audit events — beside a plain `COPY` of the same tables in
 * one snapshot, its bytes dropped (the floor), measured in the same run. Each operation runs in a
 * process of its own (`bench/backup-worker.ts`), whose peak RSS is its own. Rounds interleave the
 * three; the table shows medians (and the highest peak memory).
 */

function setting(name: string, fallback: number, minimum = 1): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < minimum)
    throw new Error(`${name} must be a whole number ≥ ${minimum}`);
  return value;
}

const ROUNDS = setting('BENCH_ROUNDS', 3);
const TENANTS = setting('BENCH_BACKUP_TENANTS', 1000);
const LEADS_PER_TENANT = setting('BENCH_BACKUP_LEADS', 1000, 2);
const VEHICLES_PER_TENANT = setting('BENCH_BACKUP_VEHICLES', 200, 0);
const EVENTS_PER_TENANT = setting('BENCH_BACKUP_EVENTS', 500, 0);
/** Issue 9's aims: backup at half the plain COPY rate or better, in under 256 MB. */
const RATIO_AIM = 0.5;
const MEMORY_AIM_MIB = 256;

const execFileAsync = promisify(execFile);
const STARTED = performance.now();
const clock = () => {
  const seconds = Math.floor((performance.now() - STARTED) / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};
const progress = (line: string) => process.stderr.write(`bench:backup ${clock()}: ${line}\n`);
const mb = (bytes: number) => bytes / 1e6;

async function worker(order: Record<string, unknown>): Promise<WorkerResult> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [join(__dirname, 'backup-worker.js'), JSON.stringify(order)],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout) as WorkerResult;
}

/** Vehicles and sealed audit events for every tenant, beside what the leads generator made. */
async function addVehiclesAndEvents(admin: Client): Promise<void> {
  await admin.query(
    `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, trim, mileage, price_minor, currency,
       created_at, updated_at)
     select t.id, gen_random_uuid(),
            (select s.id from stores s where s.tenant_id = t.id order by s.id offset g % t.stores limit 1),
            'WVWZZZ' || lpad(g::text, 11, '0'), 2005 + g % 20,
            (array['Volkswagen', 'BMW', 'Audi', 'Skoda', 'Opel'])[1 + g % 5],
            (array['Golf', '320d', 'A4 Avant', 'Octavia', 'Astra'])[1 + g % 5],
            case when g % 3 = 0 then null else 'Comfortline' end,
            (g * 7919) % 250000, 900000 + (g * 104729) % 5000000, 'EUR',
            now() - g * interval '1 hour', now() - g * interval '1 hour'
       from (select tenants.id, (select count(*) from stores where tenant_id = tenants.id)::int as stores
               from tenants) t,
            generate_series(1, $1::int) g`,
    [VEHICLES_PER_TENANT],
  );
  await admin.query(
    `insert into audit_events (tenant_id, id, seq, at, actor_role, action, subject_type, subject_id, request_id,
       ip, user_agent, outcome, prev_hash, hash)
     select t.id, gen_random_uuid(), g, now() - g * interval '1 minute', 'dealer_sales', 'customer.read', 'Customer',
            gen_random_uuid()::text, 'req-' || md5(t.id::text || g), '203.0.113.' || g % 250,
            'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
            'allowed', decode(md5(t.id::text || g) || md5(g || t.id::text), 'hex'),
            decode(md5(t.id::text || 'h' || g) || md5(g || 'h' || t.id::text), 'hex')
       from tenants t, generate_series(1, $1::int) g`,
    [EVENTS_PER_TENANT],
  );
}

async function main(): Promise<void> {
  progress(
    `cluster; then ${TENANTS} tenants × (${LEADS_PER_TENANT} leads, ${LEADS_PER_TENANT / 2} customers, ` +
      `${VEHICLES_PER_TENANT} vehicles, ${EVENTS_PER_TENANT} audit events)`,
  );
  const { cluster, admin, ownerUrl, serverVersion } = await startLeadsCluster();
  const dir = mkdtempSync(join(tmpdir(), 'forecourt-bench-backup-'));
  try {
    const generator = await LeadsGenerator.open(
      admin,
      { otherTenants: TENANTS, leadsPerTenant: LEADS_PER_TENANT },
      progress,
    );
    try {
      await generator.seedTenants();
      // The measured tenant's sealed identifiers: random bytes of a sealed value's size will do here.
      const sealed = Array.from({ length: MEASURED_CUSTOMERS }, (_, index) => ({
        n: index + 1,
        nationalId: randomBytes(60),
        driverLicense: randomBytes(60),
        sensitive: randomBytes(90),
      }));
      const counts = await generator.generate(sealed);
      progress(`leads generated in ${counts.seconds.toFixed(0)} s: ${JSON.stringify(counts)}`);
    } finally {
      await generator.close();
    }
    await withClient(admin, async (client) => {
      // The raw-read bench's table, made by the generator: not Forecourt's, not backed up.
      await client.query('drop table bench_accounts');
      await addVehiclesAndEvents(client);
      await client.query('vacuum analyze');
    });
    const size = await withClient(admin, async (client) => {
      const { rows } = await client.query<{ size: string }>(
        `select pg_size_pretty(pg_database_size(current_database())) as size`,
      );
      return rows[0]!.size;
    });
    progress(`database ready (${size} on disk)`);

    const key = randomBytes(32).toString('base64');
    const copies: WorkerResult[] = [];
    const backups: WorkerResult[] = [];
    const restores: WorkerResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const copy = await worker({ mode: 'copy', ownerUrl, key, dir });
      copies.push(copy);
      const backup = await worker({ mode: 'backup', ownerUrl, key, dir });
      backups.push(backup);
      const name = `forecourt_restore_${round}`;
      await withClient(cluster.connectionConfig('postgres'), (client) =>
        client.query(`create database ${name} owner ${EMBEDDED_OWNER_ROLE}`),
      );
      const target = new URL(ownerUrl);
      target.pathname = `/${name}`;
      try {
        restores.push(
          await worker({
            mode: 'restore',
            ownerUrl,
            key,
            dir,
            backupId: backup.backupId,
            targetUrl: target.toString(),
          }),
        );
      } finally {
        await withClient(cluster.connectionConfig('postgres'), (client) =>
          client.query(`drop database ${name} with (force)`),
        );
        rmSync(join(dir, `${backup.backupId}.fcb`), { force: true });
      }
      const rate = (result: WorkerResult) => `${mb(result.dataBytes / result.seconds).toFixed(0)} MB/s`;
      progress(
        `round ${round}: copy ${rate(copy)}, backup ${rate(backup)} (${backup.maxRssMiB.toFixed(0)} MiB), ` +
          `restore ${rate(restores[restores.length - 1]!)}`,
      );
    }

    const rateOf = (results: WorkerResult[]) =>
      median(results.map((result) => result.dataBytes / result.seconds));
    const floor = rateOf(copies);
    const row = (what: string, results: WorkerResult[], extra: string) => [
      what,
      `${mb(results[0]!.dataBytes).toFixed(0)} MB`,
      `${median(results.map((result) => result.seconds)).toFixed(1)} s`,
      `${mb(rateOf(results)).toFixed(1)} MB/s`,
      `${(rateOf(results) / floor).toFixed(2)}×`,
      `${Math.max(...results.map((result) => result.maxRssMiB)).toFixed(0)} MiB`,
      extra,
    ];
    const fileBytes = median(backups.map((result) => result.fileBytes ?? 0));
    const backupRatio = rateOf(backups) / floor;
    const backupMemory = Math.max(...backups.map((result) => result.maxRssMiB));
    const lines = [
      `Machine: ${machine(serverVersion)}. Database: ${size} on disk. ${ROUNDS} rounds; medians (peak memory: the highest).`,
      '',
      markdownTable(
        ['operation', 'table data', 'time', 'rate', '× plain COPY', 'peak RSS', 'notes'],
        [
          row('plain COPY of every table, one snapshot, bytes dropped (the floor)', copies, ''),
          row(
            'backup: snapshot → frames → brotli blocks → AES-256-GCM STREAM → file',
            backups,
            `file ${mb(fileBytes).toFixed(0)} MB (${((fileBytes / backups[0]!.dataBytes) * 100).toFixed(0)} % of the data)`,
          ),
          row(
            'restore: migrations, load in one transaction, every table read back and hashed',
            restores,
            `of which migrations ${median(restores.map((result) => result.migrateSeconds ?? 0)).toFixed(1)} s`,
          ),
        ],
      ),
      '',
      `Aims: backup ≥ ${RATIO_AIM}× the plain COPY rate — ${backupRatio.toFixed(2)}× ${backupRatio >= RATIO_AIM ? 'met' : 'NOT met'}; ` +
        `memory < ${MEMORY_AIM_MIB} MB — ${backupMemory.toFixed(0)} MiB ${backupMemory < MEMORY_AIM_MIB ? 'met' : 'NOT met'}.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
