import type { Provider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { ClsModule } from 'nestjs-cls';
import { DatabaseModule } from '@forecourt/database';
import { TENANT_ENTITIES } from '@forecourt/tenants';
import { MIGRATIONS } from '../../migrations';
import type { TestDatabase } from './test-cluster';

/** The database layer alone (pool, TenantTransaction) on a test database, initialised. */
export async function databaseTestingModule(
  db: TestDatabase,
  options: { poolSize: number; providers?: Provider[] },
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClsModule.forRoot({ global: true }),
      DatabaseModule.forRoot({
        url: db.runtimeUrl,
        entities: TENANT_ENTITIES,
        migrations: MIGRATIONS,
        poolSize: options.poolSize,
      }),
    ],
    providers: options.providers ?? [],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}
