import { DynamicModule, Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AccessDenials } from '@forecourt/core';
import { StorageModule } from '@forecourt/storage';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditFlusher } from './audit-flusher';
import { AuditJobs } from './audit-jobs';
import { AuditLog } from './audit-log';
import { AuditSealer } from './audit-sealer';
import { AuditSigningKey } from './audit-signing-key';
import { AuditTrail } from './audit-trail';
import { AuditedAccessDenials } from './audited-access-denials';
import { ChainHeads } from './chain-heads';

const SERVICES = [AuditCheckpoints, AuditFlusher, AuditLog, AuditSealer, AuditSigningKey, AuditTrail];

/**
 * The audit trail for every library (global). `jobs`: run the sealer and the checkpoints on a
 * schedule (the API does; a one-shot CLI command does not). Needs `APP_CONFIG`, the database
 * and `CryptoModule`.
 */
@Global()
@Module({})
export class AuditModule {
  static forRoot({ jobs }: { jobs: boolean }): DynamicModule {
    return {
      module: AuditModule,
      imports: [StorageModule, ...(jobs ? [ScheduleModule.forRoot()] : [])],
      providers: [
        ...SERVICES,
        ChainHeads,
        { provide: AccessDenials, useClass: AuditedAccessDenials },
        ...(jobs ? [AuditJobs] : []),
      ],
      exports: [...SERVICES, AccessDenials],
    };
  }
}
