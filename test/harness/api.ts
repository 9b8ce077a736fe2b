import { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@forecourt/config';
import { createApp } from '../../apps/api/src/create-app';
import { createTestDatabase, TestDatabase } from './test-cluster';

export interface TestApi {
  app: NestFastifyApplication;
  db: TestDatabase;
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
  } = {},
): Promise<TestApi> {
  const shared = options.shareDatabaseWith?.db;
  const db = shared ?? (await createTestDatabase());
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: '/nonexistent-unused', ...options.env });
  const app = await createApp({
    config,
    runtimeDatabaseUrl: db.runtimeUrl,
    extraImports: options.extraImports,
  });
  return {
    app,
    db,
    close: async () => {
      await app.close();
      if (!shared) await db.drop();
    },
  };
}
