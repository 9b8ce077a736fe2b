import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { PlatformOwners } from '@forecourt/auth';
import { ConfigError, loadConfig } from '@forecourt/config';
import { Client } from 'pg';
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
};

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
  });
  try {
    process.stdout.write(`${await app.get(PlatformOwners).create(values.email, values.name, password)}\n`);
  } finally {
    await app.close();
    await database.close();
  }
}

const quiet = { info: () => undefined, debug: () => undefined };

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'owner:create') return createOwner(rest);
  const run = command ? COMMANDS[command] : undefined;
  if (!run) {
    throw new Error(`usage: npm run cli -- <${['owner:create', ...Object.keys(COMMANDS)].join('|')}>`);
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
