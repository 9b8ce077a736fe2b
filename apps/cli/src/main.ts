import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AuditLog, verifierKeys, verifyExport, type VerifyReport } from '@forecourt/audit';
import { PlatformOwners } from '@forecourt/auth';
import { ConfigError, loadConfig } from '@forecourt/config';
import { isUuid } from '@forecourt/core';
import { Client } from 'pg';
import {
  type BackupRunSetup,
  BackupRuns,
  backupSetup,
  type BackupStage,
  type OnProgress,
  progressReporter,
  type VerifyOutcome,
} from '@forecourt/backup';
import { openDatabase, pendingMigrations, prepareDatabase } from '@forecourt/database';
import { MIGRATIONS } from '../../../migrations';
import { CliModule } from './cli.module';

/**
 * The operator CLI: `npm run cli -- <command>`. Each command exits non-zero with a one-line
 * reason when it fails.
 */
const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  /** Brings the schema up to date (the API also does this at start-up). */
  async migrate() {
    const config = loadConfig();
    const database = await prepareDatabase(config, MIGRATIONS, {
      info: (message) => process.stderr.write(`${message}\n`),
      debug: () => undefined,
    });
    await database.close();
    process.stdout.write('schema is current\n');
  },

  /** Lists the migrations the database has not applied yet, without applying them. */
  async 'migrate:status'() {
    const config = loadConfig();
    const database = await openDatabase(config, { info: () => undefined, debug: () => undefined });
    const client = new Client({ connectionString: database.ownerUrl });
    try {
      await client.connect();
      const applied = await client
        .query<{ present: boolean }>(`select to_regclass('schema_migrations') is not null as present`)
        .then(async ({ rows }) =>
          rows[0]?.present
            ? (await client.query<{ name: string }>('select name from schema_migrations')).rows
            : [],
        );
      const pending = await pendingMigrations(() => Promise.resolve(applied), MIGRATIONS);
      process.stdout.write(
        pending.length
          ? `pending: ${pending.join(', ')}\n`
          : `schema is current (${MIGRATIONS.length} migrations)\n`,
      );
    } finally {
      await client.end();
      await database.close();
    }
  },

  /**
   * Takes a backup now, into DATA_DIR/backups, checks it by restoring it into a scratch database,
   * then applies the local retention (`BACKUP_LOCAL_RETENTION_HOURS`); prints the new backup's id
   * alone on the last line. Refused while another backup runs (the API's schedule included).
   */
  async 'backup:run'() {
    await withBackups(async (setup) => {
      const shown = stderrProgress();
      const outcome = await new BackupRuns(setup, shown.progress).run().finally(shown.finish);
      reportVerification(outcome.id, outcome.verify);
      if (outcome.offsite)
        process.stderr.write(
          `off-site copy ${outcome.offsite.status}${outcome.offsite.detail ? `: ${outcome.offsite.detail}` : ''}\n`,
        );
      if (outcome.removed.length > 0)
        process.stderr.write(`removed ${outcome.removed.length} local backups past retention\n`);
      if (outcome.removedOffsite.length > 0)
        process.stderr.write(`removed ${outcome.removedOffsite.length} off-site copies past retention\n`);
      process.stdout.write(`${outcome.id}\n`);
    });
  },

  /** Restores a backup (the newest completed one unless `--id`) into a scratch database and records the outcome. */
  async 'backup:verify'(args) {
    const { values } = parseArgs({ args, options: { id: { type: 'string' } }, strict: true });
    if (values.id !== undefined && !isUuid(values.id))
      throw new Error('usage: backup:verify [--id <backup id>]');
    await withBackups(async (setup) => {
      const id = values.id ?? (await setup.local.newest());
      if (!id) throw new Error('there is no completed backup to verify');
      const shown = stderrProgress();
      const outcome = await new BackupRuns(setup, shown.progress).verify(id).finally(shown.finish);
      reportVerification(id, outcome);
      if (outcome?.status !== 'passed')
        throw new Error(`backup ${id} failed verification: ${outcome?.detail ?? 'not checked'}`);
    });
  },

  /** The backups, newest first (`--json`: API.md's shape). */
  async 'backup:list'(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    await withBackups(async ({ local }) => {
      const list = await local.list();
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(list.map(({ id, createdAt, sizeBytes, verifyStatus, verifiedAt }) => ({ id, createdAt, sizeBytes, verifyStatus, verifiedAt })))}\n`,
        );
        return;
      }
      for (const backup of list) {
        const verify = backup.verifyStatus ? `${backup.verifyStatus} in ${backup.verifyMs ?? '-'} ms` : '-';
        process.stdout.write(
          `${backup.id}  ${backup.createdAt}  ${backup.status}  ${backup.sizeBytes ?? '-'} bytes (${backup.dataBytes ?? '-'} of data, ${backup.rowCount ?? '-'} rows)  verify: ${verify}\n`,
        );
      }
    });
  },

  /**
   * Restores a backup into an existing, empty database whose owner the URL names: the schema is
   * migrated to the backup's version, then every row loaded and checked in one transaction. With
   * `--tenant`, only that tenant's rows (and the people they name). With `--tenant <id>
   * --into-live --confirm <id>` instead of `--database-url`, that tenant back into this
   * deployment's own database, for a tenant wholly absent from it (docs/backup.md).
   */
  async 'backup:restore'(args) {
    const { values } = parseArgs({
      args,
      options: {
        id: { type: 'string' },
        'database-url': { type: 'string' },
        tenant: { type: 'string' },
        'into-live': { type: 'boolean' },
        confirm: { type: 'string' },
      },
      strict: true,
    });
    const id = values.id;
    if (!id || !isUuid(id) || (values.tenant !== undefined && !isUuid(values.tenant)))
      throw new Error(RESTORE_USAGE);
    const tenantId = values.tenant?.toLowerCase();
    if (values['into-live']) {
      if (values['database-url'] !== undefined)
        throw new Error(
          "--into-live restores into this deployment's own database: it takes no --database-url",
        );
      if (!tenantId) throw new Error('--into-live restores one tenant: name it with --tenant <tenant id>');
      if (values.confirm === undefined)
        throw new Error(
          'refusing to restore into the live database without --confirm <tenant id> (the tenant id again)',
        );
      await withBackups(async (setup) => {
        const shown = stderrProgress();
        const report = await new BackupRuns(setup, shown.progress)
          .restoreTenantIntoLive(id, { tenantId, confirmTenantId: values.confirm })
          .finally(shown.finish);
        const { users: added = 0, ...others } = report.rows;
        const rows = Object.values(others).reduce((sum, count) => sum + count, 0);
        process.stdout.write(
          `restored tenant ${tenantId} into the live database: ${rows} rows of ${Object.keys(others).length} tables, ` +
            `${added} people added, ${report.peopleKept} kept as they were; checked\n`,
        );
      });
      return;
    }
    if (values.confirm !== undefined) throw new Error('--confirm goes with --into-live');
    const targetUrl = values['database-url'];
    if (!targetUrl) throw new Error(RESTORE_USAGE);
    await withBackups(async (setup) => {
      const shown = stderrProgress();
      const report = await new BackupRuns(setup, shown.progress)
        .restore(id, targetUrl, { tenantId })
        .finally(shown.finish);
      if (tenantId) {
        process.stdout.write(
          `restored tenant ${tenantId}: its rows of ${report.manifest.tables.length} tables\n`,
        );
        return;
      }
      const rows = report.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      process.stdout.write(`restored ${report.manifest.tables.length} tables, ${rows} rows, checked\n`);
    });
  },
};

const RESTORE_USAGE =
  'usage: backup:restore --id <backup id> --database-url <postgres url of an empty database> [--tenant <tenant id>]' +
  ' | backup:restore --id <backup id> --tenant <tenant id> --into-live --confirm <tenant id>';

/** Runs `work` with the backups of this deployment (its database and DATA_DIR). */
async function withBackups(work: (setup: BackupRunSetup) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const database = await prepareDatabase(config, MIGRATIONS, quiet, { shareRunning: true });
  const setup = backupSetup(config, database, MIGRATIONS);
  try {
    await work(setup);
  } finally {
    setup.offsite?.close();
    await database.close();
  }
}

/**
 * Each stage's progress on stderr: a line redrawn in place on a terminal, a plain line per table
 * otherwise. `finish` ends the last line.
 */
function stderrProgress(): { progress: (stage: BackupStage) => OnProgress; finish: () => void } {
  let current: ReturnType<typeof progressReporter> | null = null;
  return {
    progress: (stage) => {
      current?.finish();
      current = progressReporter(stage, process.stderr);
      return current.onProgress;
    },
    finish: () => current?.finish(),
  };
}

/** The automatic restore test's outcome, on stderr. */
function reportVerification(id: string, outcome: VerifyOutcome | null): void {
  process.stderr.write(
    outcome
      ? `backup ${id} verification ${outcome.status}: ${outcome.detail}\n`
      : 'backup not checked: set BACKUP_VERIFY_DATABASE_URL (a role that may create databases)\n',
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * Creates a platform owner; the password comes from standard input only (never argv, which
 * other users can see). Works while the API runs on the same DATA_DIR.
 */
async function createOwner(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, name: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    strict: true,
  });
  if (!values.email || !values.name || !values['password-stdin']) {
    throw new Error('usage: owner:create --email <email> --name <name> --password-stdin');
  }
  const password = await readStdin();
  const config = loadConfig();
  const database = await prepareDatabase(config, MIGRATIONS, quiet, { shareRunning: true });
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config, database.runtimeUrl), {
    logger: false,
    // A wiring error is reported like any other failure, not by a silent exit.
    abortOnError: false,
  });
  try {
    process.stdout.write(`${await app.get(PlatformOwners).create(values.email, values.name, password)}\n`);
  } finally {
    await app.close();
    await database.close();
  }
}

const quiet = { info: () => undefined, debug: () => undefined };

/**
 * Verifies audit chains: with `--file`, an export offline (nothing but the file and, with
 * `--public-key`, the verifier keys you hold); otherwise every chain in the database (or the one
 * of `--tenant`), against its checkpoints in the database and in object storage. Prints one line
 * per chain; exits 1 when any chain is broken.
 */
async function verifyAudit(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { tenant: { type: 'string' }, file: { type: 'string' }, 'public-key': { type: 'string' } },
    strict: true,
  });
  if (values.tenant !== undefined && !isUuid(values.tenant))
    throw new Error('--tenant must be a tenant id (a UUID)');
  const trusted = values['public-key']
    ? verifierKeys((await readFile(values['public-key'], 'utf8')).split('\n'))
    : null;
  const reports: { chain: string; report: VerifyReport; note?: string }[] = [];
  if (values.file) {
    const format = values.file.endsWith('.csv') ? 'csv' : 'jsonl';
    const report = await verifyExport(createReadStream(values.file), format, trusted);
    if (values.tenant && values.tenant !== report.tenantId) {
      throw new Error(`the export is of tenant ${report.tenantId}, not ${values.tenant}`);
    }
    const note =
      report.keysFrom === 'export' ? ' (checkpoints checked with the keys in the file itself)' : '';
    reports.push({ chain: report.tenantId, report, note });
  } else {
    if (trusted) throw new Error('--public-key goes with --file; the database check uses the keys it holds');
    const config = loadConfig();
    const database = await prepareDatabase(config, MIGRATIONS, quiet, { shareRunning: true });
    const app = await NestFactory.createApplicationContext(CliModule.forRoot(config, database.runtimeUrl), {
      logger: false,
      abortOnError: false,
    });
    try {
      const log = app.get(AuditLog);
      const chains = values.tenant ? [values.tenant] : await log.chains();
      // Sealing first (as the API does) covers every event committed so far.
      for (const chain of chains) reports.push({ chain, report: await log.verify(chain) });
    } finally {
      await app.close();
      await database.close();
    }
  }
  for (const { chain, report, note } of reports) {
    process.stdout.write(
      report.ok
        ? `${chain}: ok through ${report.verifiedThroughSeq}, ${report.checkpointsChecked} checkpoints${note ?? ''}\n`
        : `${chain}: BROKEN at ${report.firstInvalidSeq}: ${report.reason}${note ?? ''}\n`,
    );
  }
  const broken = reports.filter(({ report }) => !report.ok).length;
  if (broken > 0) throw new Error(`${broken} of ${reports.length} audit chains failed verification`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'owner:create') return createOwner(rest);
  if (command === 'audit:verify') return verifyAudit(rest);
  const run = command ? COMMANDS[command] : undefined;
  if (!run) {
    throw new Error(
      `usage: npm run cli -- <${['owner:create', 'audit:verify', ...Object.keys(COMMANDS)].join('|')}>`,
    );
  }
  await run(rest);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message =
      error instanceof ConfigError ? `Configuration error: ${error.message}` : (error as Error).message;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
