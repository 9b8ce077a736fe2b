import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog, verifierKeys, verifyExport, type VerifyReport } from '@forecourt/audit';
import { PlatformOwners } from '@forecourt/auth';
import { type AppConfig, ConfigError, loadConfig } from '@forecourt/config';
import { isUuid } from '@forecourt/core';
import { Client } from 'pg';
import { LocalBackups, type ScratchDatabase, scratchDatabases, type VerifyOutcome } from '@forecourt/backup';
import { KeyWrapper, loadMasterKey } from '@forecourt/crypto';
import {
  EMBEDDED_OWNER_ROLE,
  migrateSchema,
  type OpenDatabase,
  openDatabase,
  pendingMigrations,
  postgresUrl,
  prepareDatabase,
} from '@forecourt/database';
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
   * Takes a backup now, into DATA_DIR/backups, then applies the local retention
   * (`BACKUP_LOCAL_RETENTION_HOURS`); prints the new backup's id alone on the last line.
   */
  async 'backup:run'() {
    await withBackups(async (backups, config, scratch) => {
      const id = await backups.run(SCHEMA_VERSION);
      await checkBackup(backups, id, scratch);
      const removed = await backups.prune(new Date(), config.backupLocalRetentionHours * 3_600_000);
      if (removed.length > 0)
        process.stderr.write(`removed ${removed.length} local backups past retention\n`);
      process.stdout.write(`${id}\n`);
    });
  },

  /** Restores a backup (the newest completed one unless `--id`) into a scratch database and records the outcome. */
  async 'backup:verify'(args) {
    const { values } = parseArgs({ args, options: { id: { type: 'string' } }, strict: true });
    if (values.id !== undefined && !isUuid(values.id))
      throw new Error('usage: backup:verify [--id <backup id>]');
    await withBackups(async (backups, _config, scratch) => {
      const id = values.id ?? (await backups.newest());
      if (!id) throw new Error('there is no completed backup to verify');
      const outcome = await checkBackup(backups, id, scratch);
      if (outcome?.status !== 'passed')
        throw new Error(`backup ${id} failed verification: ${outcome?.detail ?? 'not checked'}`);
    });
  },

  /** The backups, newest first (`--json`: API.md's shape). */
  async 'backup:list'(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    await withBackups(async (backups) => {
      const list = await backups.list();
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(list.map(({ id, createdAt, sizeBytes, verifyStatus, verifiedAt }) => ({ id, createdAt, sizeBytes, verifyStatus, verifiedAt })))}\n`,
        );
        return;
      }
      for (const backup of list) {
        process.stdout.write(
          `${backup.id}  ${backup.createdAt}  ${backup.status}  ${backup.sizeBytes ?? '-'} bytes  verify: ${backup.verifyStatus ?? '-'}\n`,
        );
      }
    });
  },

  /**
   * Restores a backup into an existing, empty database whose owner the URL names: the schema is
   * migrated to the backup's version, then every row loaded and checked in one transaction.
   */
  async 'backup:restore'(args) {
    const { values } = parseArgs({
      args,
      options: { id: { type: 'string' }, 'database-url': { type: 'string' } },
      strict: true,
    });
    if (!values.id || !isUuid(values.id) || !values['database-url']) {
      throw new Error(
        'usage: backup:restore --id <backup id> --database-url <postgres url of an empty database>',
      );
    }
    const targetUrl = values['database-url'];
    await withBackups(async (backups) => {
      const report = await backups.restore(values.id!, targetUrl, async (version) => {
        const upTo = MIGRATIONS.findIndex((migration) => migration.name === version);
        if (upTo < 0)
          throw new Error(`the backup needs schema version ${version}, which this build does not know`);
        await migrateSchema(targetUrl, MIGRATIONS.slice(0, upTo + 1));
      });
      const rows = report.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      process.stdout.write(`restored ${report.manifest.tables.length} tables, ${rows} rows, checked\n`);
    });
  },
};

/** The schema version a backup taken now records: the newest migration this build has. */
const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.name;

type Scratch = (() => Promise<ScratchDatabase>) | null;

/** Runs `work` with the local backups of this deployment (its database and DATA_DIR). */
async function withBackups(
  work: (backups: LocalBackups, config: AppConfig, scratch: Scratch) => Promise<void>,
): Promise<void> {
  const config = loadConfig();
  const database = await prepareDatabase(config, MIGRATIONS, quiet, { shareRunning: true });
  try {
    const wrapper = new KeyWrapper(loadMasterKey(config));
    await work(
      new LocalBackups(database.ownerUrl, wrapper, join(config.dataDir, 'backups')),
      config,
      scratchFor(config, database),
    );
  } finally {
    await database.close();
  }
}

/**
 * Where backups are restored to be checked: `BACKUP_VERIFY_DATABASE_URL`'s role makes (and owns)
 * each scratch database; with the embedded server its superuser makes one for the schema owner;
 * otherwise nowhere (backups are then not checked, and say so).
 */
function scratchFor(config: AppConfig, database: OpenDatabase): Scratch {
  if (config.backupVerifyDatabaseUrl) return scratchDatabases(config.backupVerifyDatabaseUrl);
  if (database.embedded) {
    const superuser = database.embedded.connectionConfig('postgres');
    return scratchDatabases(
      postgresUrl(superuser.host, superuser.port, superuser.user, superuser.password, 'postgres'),
      { role: EMBEDDED_OWNER_ROLE, url: database.ownerUrl },
    );
  }
  return null;
}

/** The automatic restore test of backup `id`, reported on stderr; null when it cannot run here. */
async function checkBackup(
  backups: LocalBackups,
  id: string,
  scratch: Scratch,
): Promise<VerifyOutcome | null> {
  if (!scratch) {
    process.stderr.write(
      'backup not checked: set BACKUP_VERIFY_DATABASE_URL (a role that may create databases)\n',
    );
    return null;
  }
  const outcome = await backups.verify(id, scratch, async (version, url) => {
    await migrateSchema(url, migrationsUpTo(version));
  });
  process.stderr.write(`backup ${id} verification ${outcome.status}: ${outcome.detail}\n`);
  return outcome;
}

function migrationsUpTo(version: string) {
  const upTo = MIGRATIONS.findIndex((migration) => migration.name === version);
  if (upTo < 0) throw new Error(`the backup needs schema version ${version}, which this build does not know`);
  return MIGRATIONS.slice(0, upTo + 1);
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
