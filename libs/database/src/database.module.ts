import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntitySchema } from 'typeorm';
import { DatabaseHealth, KNOWN_MIGRATIONS } from './database-health';
import { MigrationClass } from './schema-migrator';
import { TenantTransaction } from './tenant-transaction';

export interface DatabaseModuleOptions {
  /** The runtime role's connection (never the schema owner's). */
  url: string;
  // TypeORM's own entity list type; the classes come from the domain libraries.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: (Function | EntitySchema)[];
  migrations: MigrationClass[];
  poolSize?: number;
}

@Injectable()
class DataSourceShutdown implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The runtime connection pool, the tenant transaction and database health. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DataSource,
          useFactory: () => createRuntimeDataSource(options).initialize(),
        },
        { provide: KNOWN_MIGRATIONS, useValue: options.migrations },
        TenantTransaction,
        DatabaseHealth,
        DataSourceShutdown,
      ],
      exports: [DataSource, TenantTransaction, DatabaseHealth],
    };
  }
}

/** The runtime pool: pipelined connections, never synchronising or installing anything. */
export function createRuntimeDataSource(options: Omit<DatabaseModuleOptions, 'migrations'>): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    poolSize: options.poolSize ?? 10,
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    logging: false,
    applicationName: 'forecourt',
    extra: {
      // Queries are written without waiting for the previous answer (see TenantTransaction).
      pipeline: true,
      // A transaction left open by a stuck request is ended by the server.
      idle_in_transaction_session_timeout: 60_000,
      // While the database is away, a request waiting for a connection gives up (503) rather than
      // hanging; a dead peer is noticed on idle connections too.
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    },
  });
}
