import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from '@forecourt/auth';
import { BackupStatus } from '@forecourt/core';
import { BackupSchedule } from './backup-schedule';
import { BackupSummaries } from './backup-summaries';
import type { BackupRunSetup } from './backup-runs';
import { BackupsController } from './backups.controller';
import { BACKUP_SETUP, PlatformBackups } from './platform-backups';

/**
 * Backups in the API: `POST`/`GET /v1/platform/backups`, their status for readiness and
 * metrics, and with `schedule` the daily run (`BACKUP_CRON`). Needs `APP_CONFIG` and the audit
 * trail.
 */
@Module({})
export class BackupModule {
  static forRoot(setup: BackupRunSetup, { schedule }: { schedule: boolean }): DynamicModule {
    return {
      module: BackupModule,
      // Global: readiness and metrics (the operations library) read the backups' status.
      global: true,
      imports: [AuthModule, ...(schedule ? [ScheduleModule.forRoot()] : [])],
      controllers: [BackupsController],
      providers: [
        { provide: BACKUP_SETUP, useValue: setup },
        PlatformBackups,
        { provide: BackupStatus, useClass: BackupSummaries },
        ...(schedule ? [BackupSchedule] : []),
      ],
      exports: [PlatformBackups, BackupStatus],
    };
  }
}
