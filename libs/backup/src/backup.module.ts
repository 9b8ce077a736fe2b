import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from '@forecourt/auth';
import { BackupSchedule } from './backup-schedule';
import type { BackupRunSetup } from './backup-runs';
import { BackupsController } from './backups.controller';
import { BACKUP_SETUP, PlatformBackups } from './platform-backups';

/**
 * Backups in the API: `POST`/`GET /v1/platform/backups`, and with `schedule` the daily run
 * (`BACKUP_CRON`). Needs `APP_CONFIG`, the audit trail and the auth guards.
 */
@Module({})
export class BackupModule {
  static forRoot(setup: BackupRunSetup, { schedule }: { schedule: boolean }): DynamicModule {
    return {
      module: BackupModule,
      imports: [AuthModule, ...(schedule ? [ScheduleModule.forRoot()] : [])],
      controllers: [BackupsController],
      providers: [
        { provide: BACKUP_SETUP, useValue: setup },
        PlatformBackups,
        ...(schedule ? [BackupSchedule] : []),
      ],
      exports: [PlatformBackups],
    };
  }
}
