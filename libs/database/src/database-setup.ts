import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterLog, EmbeddedCluster, runningServer } from './embedded-cluster';
import { isProcessAlive } from './process-liveness';
import { DataDirLock } from './data-dir-lock';
import { clientConfigFromUrl, postgresUrl, userOfUrl } from './database-urls';
import {
  assertSafeRuntimeRole,
  bootstrapEmbeddedRoles,
  EMBEDDED_DATABASE,
  EMBEDDED_OWNER_ROLE,
  EMBEDDED_RUNTIME_ROLE,
  EmbeddedRoles,
  grantRuntimeGroup,
  UnsafeRuntimeRoleError,
} from './roles';
import { MigrationClass, migrateSchema } from './schema-migrator';

export interface DatabaseSettings {
  dataDir: string;
  databaseUrl: string | null;
  migrationDatabaseUrl: string | null;
}

function embeddedRoles(dataDir: string): EmbeddedRoles {
  const file = join(dataDir, 'pg-roles.secret');
  if (!existsSync(file)) {
    const roles: EmbeddedRoles = {
      ownerPassword: randomBytes(24).toString('hex'),
      runtimePassword: randomBytes(24).toString('hex'),
    };
    writeFileSync(file, JSON.stringify(roles), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedRoles;
}

/** Connections to the configured database; with no `DATABASE_URL`, the embedded one, started. */
export interface OpenDatabase {
  runtimeUrl: string;
  ownerUrl: string;
  embedded: EmbeddedCluster | null;
  close(): Promise<void>;
}

/**
 * Reaches the database without changing its schema: with no `DATABASE_URL`, locks `DATA_DIR`,
 * starts the embedded cluster in `DATA_DIR/pg` and creates its roles.
 */
export async function openDatabase(
  settings: DatabaseSettings,
  log: ClusterLog,
  options: { shareRunning?: boolean } = {},
): Promise<OpenDatabase> {
  if (settings.databaseUrl) {
    return {
      runtimeUrl: settings.databaseUrl,
      ownerUrl: settings.migrationDatabaseUrl ?? settings.databaseUrl,
      embedded: null,
      close: () => Promise.resolve(),
    };
  }
  if (options.shareRunning) {
    const shared = runningEmbedded(settings.dataDir);
    if (shared) return shared;
  }
  const lock = DataDirLock.acquire(settings.dataDir);
  let embedded: EmbeddedCluster | null = null;
  const close = async () => {
    await embedded?.stop();
    lock.release();
  };
  try {
    embedded = await EmbeddedCluster.start({ directory: join(settings.dataDir, 'pg'), log });
    const roles = embeddedRoles(settings.dataDir);
    await bootstrapEmbeddedRoles(embedded.connectionConfig('postgres'), roles);
    const url = (user: string, password: string) =>
      postgresUrl('127.0.0.1', embedded!.port, user, password, EMBEDDED_DATABASE);
    return {
      runtimeUrl: url(EMBEDDED_RUNTIME_ROLE, roles.runtimePassword),
      ownerUrl: url(EMBEDDED_OWNER_ROLE, roles.ownerPassword),
      embedded,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The embedded server a live Forecourt process (the API) runs on this DATA_DIR, for an operator
 * command to use alongside it; null when none runs. Closing it leaves the server running.
 */
function runningEmbedded(dataDir: string): OpenDatabase | null {
  const holder = DataDirLock.holder(dataDir);
  const server = runningServer(join(dataDir, 'pg'));
  if (holder === null || holder === process.pid || !isProcessAlive(holder) || !server) return null;
  const roles = embeddedRoles(dataDir);
  const url = (user: string, password: string) =>
    postgresUrl('127.0.0.1', server.port, user, password, EMBEDDED_DATABASE);
  return {
    runtimeUrl: url(EMBEDDED_RUNTIME_ROLE, roles.runtimePassword),
    ownerUrl: url(EMBEDDED_OWNER_ROLE, roles.ownerPassword),
    embedded: null,
    close: () => Promise.resolve(),
  };
}

/**
 * Gets the database ready to serve: opens it, migrates as the schema owner, grants the runtime
 * role its group, and refuses a runtime role that could bypass RLS.
 */
export async function prepareDatabase(
  settings: DatabaseSettings,
  migrations: MigrationClass[],
  log: ClusterLog,
  options: { shareRunning?: boolean } = {},
): Promise<OpenDatabase> {
  const database = await openDatabase(settings, log, options);
  try {
    const runtimeUser = userOfUrl(database.runtimeUrl);
    if (runtimeUser === userOfUrl(database.ownerUrl)) {
      throw new UnsafeRuntimeRoleError(
        runtimeUser,
        'would also own the schema (set MIGRATION_DATABASE_URL to the schema owner, a different role)',
      );
    }
    // Refused before migrating too, so a privileged role never gets to change the schema first.
    await assertSafeRuntimeRole(clientConfigFromUrl(database.runtimeUrl));
    const applied = await migrateSchema(database.ownerUrl, migrations);
    if (applied.length) log.info(`applied migrations: ${applied.join(', ')}`);
    await grantRuntimeGroup(clientConfigFromUrl(database.ownerUrl), runtimeUser);
    await assertSafeRuntimeRole(clientConfigFromUrl(database.runtimeUrl));
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}
