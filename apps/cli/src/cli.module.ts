import { DynamicModule, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import { AuditModule } from '@forecourt/audit';
import { AuthModule } from '@forecourt/auth';
import { AppConfig, ConfigModule } from '@forecourt/config';
import { ClockModule } from '@forecourt/core';
import { CryptoModule } from '@forecourt/crypto';
import { DatabaseModule } from '@forecourt/database';
import { TENANT_ENTITIES } from '@forecourt/tenants';
import { MIGRATIONS } from '../../../migrations';

/** The libraries an operator command needs, on the runtime role's connection. */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig, runtimeDatabaseUrl: string): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(),
        ClsModule.forRoot({ global: true }),
        DatabaseModule.forRoot({
          url: runtimeDatabaseUrl,
          entities: TENANT_ENTITIES,
          migrations: MIGRATIONS,
          poolSize: 2,
        }),
        CryptoModule,
        AuditModule.forRoot({ jobs: false }),
        AuthModule,
      ],
    };
  }
}
