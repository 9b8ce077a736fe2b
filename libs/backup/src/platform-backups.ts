import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import type { RequestContext } from '@forecourt/core';
import { BackupError, BackupErrorCode } from './backup-error';
import { type BackupRunSetup, BackupRuns, type RunOutcome, type StartedRun } from './backup-runs';
import type { BackupRecord } from './local-backups';

/** The deployment's backup setup (see `backupSetup`): the module's one input. */
export const BACKUP_SETUP = Symbol('BackupRunSetup');

/**
 * Backups as the API runs them: on the schedule, or on a platform owner's request, one at a
 * time across every instance (the run's lock), each followed by its restore test and retention.
 */
@Injectable()
export class PlatformBackups implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly runs: BackupRuns;
  private readonly running = new Set<Promise<unknown>>();
  private readonly log = new Logger('Backups');

  constructor(
    @Inject(BACKUP_SETUP) private readonly setup: BackupRunSetup,
    private readonly trail: AuditTrail,
  ) {
    this.runs = new BackupRuns(setup);
  }

  list(): Promise<BackupRecord[]> {
    return this.setup.local.list();
  }

  /** Starts a backup now (`POST /v1/platform/backups`); 409 while one runs anywhere. */
  async start(ctx: RequestContext): Promise<{ id: string; status: 'running' }> {
    const run = await this.runs.start();
    if (!run.started)
      throw new BackupError(
        BackupErrorCode.AlreadyRunning,
        'A backup is running already; try again when it ends',
      );
    await this.trail.record(ctx, null, { action: 'backup.create', subjectType: 'Backup', subjectId: run.id });
    void this.follow(run);
    return { id: run.id, status: 'running' };
  }

  /**
   * The scheduled run for `slot`: started unless another instance runs a backup, or took this
   * slot's already. Resolves when the run has ended (null when it did not run here, or failed).
   */
  async scheduled(slot: Date): Promise<RunOutcome | null> {
    const run = await this.runs.start({ slot });
    if (!run.started) {
      this.log.log(
        `scheduled backup of ${slot.toISOString()}: ${run.reason === 'done' ? 'taken by another instance' : 'another backup is running'}`,
      );
      return null;
    }
    await this.trail.record(null, null, {
      action: 'backup.create',
      subjectType: 'Backup',
      subjectId: run.id,
    });
    return this.follow(run);
  }

  /** Waits for runs this instance started: a backup is not cut off by a graceful stop. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  onApplicationShutdown(): void {
    this.setup.offsite?.close();
  }

  private follow(run: Extract<StartedRun, { started: true }>): Promise<RunOutcome | null> {
    const followed = run.done.then(
      (outcome) => {
        this.log.log(
          `backup ${outcome.id} taken; restore test ${outcome.verify?.status ?? 'not run (no scratch database)'}` +
            (outcome.verify ? `: ${outcome.verify.detail}` : '') +
            (outcome.offsite ? `; off-site copy ${outcome.offsite.status}` : ''),
        );
        if (outcome.offsite?.status === 'failed')
          this.log.error(`backup ${outcome.id}: the off-site upload failed: ${outcome.offsite.detail}`);
        return outcome;
      },
      (error: unknown) => {
        this.log.error(`backup ${run.id} failed: ${(error as Error).message}`);
        return null;
      },
    );
    this.running.add(followed);
    void followed.finally(() => this.running.delete(followed));
    return followed;
  }
}
