import 'reflect-metadata';
import pino from 'pino';
import { PlatformOwners } from '@forecourt/auth';
import { backupSetup } from '@forecourt/backup';
import { ConfigError, loadConfig } from '@forecourt/config';
import { prepareDatabase } from '@forecourt/database';
import { MIGRATIONS } from '../../../migrations';
import { createApp } from './create-app';

const SHUTDOWN_GRACE_MS = 8_000;

/** Prints one line and exits non-zero: how every start-up failure ends. */
function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`Configuration error: ${error.message}`);
    throw error;
  }
  const log = pino({ level: config.logLevel, base: { component: 'startup' } });

  const database = await prepareDatabase(config, MIGRATIONS, {
    info: (message) => log.info(message),
    debug: (message) => log.debug(message),
  });
  let app;
  try {
    app = await createApp({
      config,
      runtimeDatabaseUrl: database.runtimeUrl,
      backups: { setup: backupSetup(config, database, MIGRATIONS), schedule: true },
    });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await database.close();
    throw error;
  }
  log.info(`Forecourt API listening on http://${config.host}:${config.port} (OpenAPI at /docs)`);
  if (!(await app.get(PlatformOwners).exists())) {
    process.stdout.write(
      'No platform owner exists yet. Create the first one (while the API runs, from this directory):\n' +
        '  npm run cli -- owner:create --email <email> --name <name> --password-stdin\n',
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: closing connections, then the database`);
    const force = setTimeout(() => fail('shutdown took too long; exiting'), SHUTDOWN_GRACE_MS);
    force.unref();
    void (async () => {
      await app.close();
      await database.close();
      log.info('stopped');
      process.exit(0);
    })().catch((error: unknown) => fail(`shutdown failed: ${(error as Error).message}`));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => fail(`Forecourt did not start: ${(error as Error).message}`));
