import { DynamicModule, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import { AuditModule } from '@forecourt/audit';
import { AuthModule, SamlModule } from '@forecourt/auth';
import { AuthzModule } from '@forecourt/authz';
import { BackupModule, type BackupRunSetup } from '@forecourt/backup';
import { BillingModule } from '@forecourt/billing';
import { AppConfig, ConfigModule } from '@forecourt/config';
import { type Clock, ClockModule, loggingModule, REQUEST_ID_HEADER } from '@forecourt/core';
import { CryptoModule } from '@forecourt/crypto';
import { DatabaseModule } from '@forecourt/database';
import { InventoryModule } from '@forecourt/inventory';
import { LeadsModule } from '@forecourt/leads';
import { LifecycleModule } from '@forecourt/lifecycle';
import { OperationsModule } from '@forecourt/operations';
import { TENANT_ENTITIES, TenantsModule } from '@forecourt/tenants';
import { MIGRATIONS } from '../../../migrations';

export interface AppModuleOptions {
  config: AppConfig;
  /** The runtime role's connection to a migrated database. */
  runtimeDatabaseUrl: string;
  poolSize?: number;
  /** The deployment's backups (`backupSetup`); `schedule`: run them on `BACKUP_CRON` too. */
  backups?: { setup: BackupRunSetup; schedule: boolean };
  /** The time the rules see; the system clock unless a test sets one. */
  clock?: Clock;
}

/** Composes the libraries into the HTTP API. */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(options.config),
        ClockModule.forRoot(options.clock),
        ClsModule.forRoot({
          global: true,
          middleware: {
            mount: true,
            generateId: true,
            idGenerator: (req: { headers: Record<string, string | string[] | undefined> }) =>
              String(req.headers[REQUEST_ID_HEADER]),
          },
        }),
        loggingModule(options.config.logLevel),
        DatabaseModule.forRoot({
          url: options.runtimeDatabaseUrl,
          entities: [...TENANT_ENTITIES],
          migrations: MIGRATIONS,
          poolSize: options.poolSize,
        }),
        CryptoModule,
        AuditModule.forRoot({ jobs: true }),
        OperationsModule,
        TenantsModule,
        InventoryModule,
        LeadsModule,
        BillingModule,
        LifecycleModule,
        AuthModule,
        SamlModule,
        AuthzModule,
        ...(options.backups
          ? [BackupModule.forRoot(options.backups.setup, { schedule: options.backups.schedule })]
          : []),
      ],
    };
  }
}
