import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Clock, scheduleUtcCron, unscheduleCron } from '@forecourt/core';
import { underSessionLock } from '@forecourt/database';
import { SCHEDULED_REASON, TenantDeletions } from './tenant-deletions';
import { TenantCancellation } from './tenant-cancellation';

export const LIFECYCLE_JOB = 'tenant-lifecycle';
/** The advisory lock a lifecycle run holds from start to end: one instance runs it. */
const LIFECYCLE_LOCK = 0x4643_4c59; // "FCLY"

export interface LifecycleRunReport {
  /** false: another instance held the run. */
  ran: boolean;
  enteredGrace: number;
  deleted: string[];
  failed: string[];
}

/**
 * The daily tenant lifecycle run (`LIFECYCLE_CRON`, UTC): cancelled tenants whose paid period is
 * over enter their grace; tenants whose grace is over are deleted, and deletions cut short are
 * finished. Every instance schedules it; a session advisory lock lets exactly one run it.
 */
@Injectable()
export class LifecycleSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('TenantLifecycle');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly dataSource: DataSource,
    private readonly cancellation: TenantCancellation,
    private readonly deletions: TenantDeletions,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    scheduleUtcCron(
      this.registry,
      LIFECYCLE_JOB,
      this.config.lifecycleCron,
      () => this.run(),
      (error) => this.log.error(`tenant lifecycle run failed: ${error.message}`),
    );
  }

  onApplicationShutdown(): void {
    unscheduleCron(this.registry, LIFECYCLE_JOB);
  }

  /** One run, as the schedule fires it. */
  async run(): Promise<LifecycleRunReport> {
    const report: LifecycleRunReport = { ran: false, enteredGrace: 0, deleted: [], failed: [] };
    const run = await underSessionLock(this.dataSource, [LIFECYCLE_LOCK], () => this.runLocked(report));
    report.ran = run.held;
    return report;
  }

  private async runLocked(report: LifecycleRunReport): Promise<void> {
    const now = this.clock.now();
    const ended = (
      await this.dataSource.query<{ id: string }[]>(
        `select id from app.lifecycle_due($1) where status = 'cancelled'`,
        [now],
      )
    ).map((row) => row.id);
    report.enteredGrace = await this.cancellation.enterGrace(ended);
    for (const { tenantId, dueAt } of await this.deletions.due()) {
      try {
        if (!(await this.deletions.begin(tenantId, { reason: SCHEDULED_REASON, requestedBy: null, dueAt }))) {
          continue;
        }
        await this.deletions.finish(tenantId);
        report.deleted.push(tenantId);
      } catch (error) {
        // One tenant's trouble does not hold up the others; the next run takes it up again.
        report.failed.push(tenantId);
        this.log.error(`deleting tenant ${tenantId} stopped: ${(error as Error).message}`);
      }
    }
  }
}
