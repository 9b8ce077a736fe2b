import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { scheduleUtcCron, unscheduleCron } from '@forecourt/core';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { PlatformBackups } from './platform-backups';

/** The cron job's name in the scheduler registry. */
export const BACKUP_JOB = 'backup';

/**
 * Runs the backup on `BACKUP_CRON` (default 02:00 every day), in UTC whatever the host's zone.
 * Every instance has the job; the run's lock and the "already taken since this slot" check make
 * exactly one of them back up.
 */
@Injectable()
export class BackupSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Backups');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly backups: PlatformBackups,
  ) {}

  onApplicationBootstrap(): void {
    scheduleUtcCron(
      this.registry,
      BACKUP_JOB,
      this.config.backupCron,
      () => this.fire(),
      (error) => this.log.error(`scheduled backup did not start: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    unscheduleCron(this.registry, BACKUP_JOB);
  }

  /** One firing of the schedule at `now`: the slot is the minute it fired in. */
  fire(now: Date = new Date()): Promise<unknown> {
    const slot = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    return this.backups.scheduled(slot);
  }
}
