import { ModuleMetadata } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { backupSetup, scratchDatabases } from '@forecourt/backup';
import { loadConfig } from '@forecourt/config';
import type { Clock } from '@forecourt/core';
import { createApp } from '../../apps/api/src/create-app';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, OWNER_ROLE, TestDatabase } from './test-cluster';

export interface TestApi {
  app: NestFastifyApplication;
  db: TestDatabase;
  dataDir: string;
  masterKey: string;
  close(): Promise<void>;
}

/**
 * The real API (same module graph, same HTTP pipeline as `npm start`) on its own test database.
 * `extraImports` adds probe modules that exercise the pipeline where no product route does yet.
 */
export async function startTestApi(
  options: {
    env?: Record<string, string>;
    extraImports?: ModuleMetadata['imports'];
    /** Another instance's database: the two then behave as two API instances behind one balancer. */
    shareDatabaseWith?: TestApi;
    /** Register the backup schedule (`BACKUP_CRON`) as `npm start` does; off by default. */
    backupSchedule?: boolean;
    /** The time the rules see (cancellation, grace, deletion, export expiry); the system clock by default. */
    clock?: Clock;
    /** Rewrites the runtime role's URL (e.g. through a {@link TcpProxy} a test can cut). */
    runtimeUrl?: (url: string) => string;
  } = {},
): Promise<TestApi> {
  const shared = options.shareDatabaseWith;
  const db = shared?.db ?? (await createTestDatabase());
  // Instances of one deployment share their data directory and master key, like production.
  const dataDir = shared?.dataDir ?? mkdtempSync(join(tmpdir(), 'forecourt-api-'));
  const masterKey = shared?.masterKey ?? randomBytes(32).toString('base64');
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    MASTER_KEY: masterKey,
    ...options.env,
  });
  const database = {
    runtimeUrl: db.runtimeUrl,
    ownerUrl: db.ownerUrl,
    embedded: null,
    close: async () => {},
  };
  const backups = {
    // Checked in scratch databases the schema owner owns, as on the embedded server.
    setup: {
      ...backupSetup(config, database, MIGRATIONS),
      scratch: scratchDatabases(db.adminUrl, { role: OWNER_ROLE, url: db.ownerUrl }),
    },
    schedule: options.backupSchedule ?? false,
  };
  const app = await createApp({
    config,
    runtimeDatabaseUrl: options.runtimeUrl ? options.runtimeUrl(db.runtimeUrl) : db.runtimeUrl,
    extraImports: options.extraImports,
    backups,
    clock: options.clock,
  }).catch(async (error: unknown) => {
    if (!shared) {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    throw error;
  });
  return {
    app,
    db,
    dataDir,
    masterKey,
    close: async () => {
      await app.close();
      if (!shared) {
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
