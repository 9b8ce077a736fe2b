import { Client } from 'pg';
import type { BackupStage, OnProgress } from './backup-progress';
import type { LocalBackups, VerifyOutcome } from './local-backups';
import type { OffsiteBackups } from './offsite-backups';
import type { ScratchDatabase } from './scratch-database';

/** The advisory lock a backup run holds from start to end (schedule, API and CLI alike). */
const BACKUP_LOCK = 0x6261636b; // 'back'

/** Everything a backup run needs. */
export interface BackupRunSetup {
  /** The schema owner's connection: a backup reads every row as it, and keeps its records there. */
  ownerUrl: string;
  local: LocalBackups;
  /** The schema version a backup taken now records (the newest migration). */
  schemaVersion: string;
  /** Where a backup is restored to be checked; null: it cannot be checked here. */
  scratch: ((backupId: string) => Promise<ScratchDatabase>) | null;
  /** Migrates the (empty) database at `databaseUrl` to `version`. */
  migrate: (version: string, databaseUrl: string) => Promise<void>;
  /** How long local backups are kept. */
  localRetentionMs: number;
  /** The off-site bucket; null: local backups only. */
  offsite: OffsiteBackups | null;
  /** How long off-site copies are kept. */
  offsiteRetentionMs: number;
}

/** What one run did. */
export interface RunOutcome {
  id: string;
  /** The automatic restore test's result; null when no scratch database can be made here. */
  verify: VerifyOutcome | null;
  /** The off-site upload; null without an off-site bucket, or when the restore test failed. */
  offsite: { status: 'uploaded' | 'failed'; detail: string | null } | null;
  /** Backups whose local copy retention removed after it. */
  removed: string[];
  /** Backups whose off-site copy retention removed after it. */
  removedOffsite: string[];
}

export type StartedRun =
  | { started: true; id: string; done: Promise<RunOutcome> }
  /** `running`: another run (any instance, or the CLI) holds the lock; `done`: the slot has its backup. */
  | { started: false; reason: 'running' | 'done' };

/**
 * A backup run: take the backup, restore it into a scratch database to check it, then apply
 * retention. One run at a time across every instance and the CLI: each holds a PostgreSQL
 * advisory lock (on a connection of its own, for the whole run) and a second one is refused,
 * never queued.
 */
export class BackupRuns {
  /** `progress`: where each stage reports how far it has come (the CLI's progress line). */
  constructor(
    private readonly setup: BackupRunSetup,
    private readonly progress: (stage: BackupStage) => OnProgress | undefined = () => undefined,
  ) {}

  /**
   * Starts a run unless another holds the lock — or, with `slot` (a schedule's firing), unless
   * that slot has its backup already: how a schedule firing on several instances runs once.
   * Resolves once the backup is recorded as `running`; `done` settles when the run ends.
   */
  async start({ slot }: { slot?: Date } = {}): Promise<StartedRun> {
    const lock = new Client({ connectionString: this.setup.ownerUrl });
    await lock.connect();
    let id: string;
    try {
      const { rows } = await lock.query<{ held: boolean }>('select pg_try_advisory_lock($1) as held', [
        BACKUP_LOCK,
      ]);
      if (!rows[0]?.held) {
        await lock.end();
        return { started: false, reason: 'running' };
      }
      if (slot) {
        const since = await lock.query<{ taken: boolean }>(
          'select exists (select 1 from backups where scheduled_for = $1) as taken',
          [slot],
        );
        if (since.rows[0]?.taken) {
          await lock.end();
          return { started: false, reason: 'done' };
        }
      }
      // Holding the lock, no other run is alive: a `running` record is one whose process stopped.
      await lock.query(
        `update backups set status = 'failed', finished_at = now(), error = 'interrupted: the run stopped before it finished'
          where status = 'running'`,
      );
      id = await this.setup.local.open(this.setup.schemaVersion, slot ?? null);
    } catch (error) {
      await lock.end();
      throw error;
    }
    // Ending the connection releases the lock, whatever happened.
    const done = this.complete(id).finally(() => lock.end());
    done.catch(() => undefined); // the caller observes `done`; this only keeps a failure "handled"
    return { started: true, id, done };
  }

  /** Starts a run and waits for it (the CLI); throws when another holds the lock. */
  async run(): Promise<RunOutcome> {
    const run = await this.start();
    if (!run.started) throw new Error('another backup is running (the lock is held); try again when it ends');
    return run.done;
  }

  /**
   * Restores backup `id` into the empty database at `targetUrl`, from either copy; with
   * `tenantId`, that tenant's rows only.
   */
  restore(id: string, targetUrl: string, { tenantId }: { tenantId?: string } = {}) {
    const { local, migrate } = this.setup;
    return local.restore(id, targetUrl, (version) => migrate(version, targetUrl), {
      fallback: this.offsiteCopy,
      tenantId,
      onProgress: this.progress('restore'),
    });
  }

  /**
   * Restores tenant `tenantId` of backup `id` (from either copy) back into this deployment's own
   * database, for a tenant wholly absent from it; refused unless `confirmTenantId` repeats the
   * tenant id (see `restoreTenantIntoLive`).
   */
  restoreTenantIntoLive(
    id: string,
    { tenantId, confirmTenantId }: { tenantId: string; confirmTenantId: string | undefined },
  ) {
    return this.setup.local.restoreTenantIntoLive(id, {
      fallback: this.offsiteCopy,
      tenantId,
      confirmTenantId,
      onProgress: this.progress('restore'),
    });
  }

  /** The restore test of backup `id` (from either copy), recorded; null when it cannot run here. */
  async verify(id: string): Promise<VerifyOutcome | null> {
    const { local, scratch, migrate } = this.setup;
    return scratch
      ? local.verify(id, scratch, migrate, {
          fallback: this.offsiteCopy,
          onProgress: this.progress('restore test'),
        })
      : null;
  }

  private readonly offsiteCopy = (id: string) => this.setup.offsite?.open(id) ?? Promise.resolve(null);

  private async complete(id: string): Promise<RunOutcome> {
    const { local, offsite, schemaVersion } = this.setup;
    await local.write(id, schemaVersion, this.progress('backup'));
    const verify = await this.verify(id);
    // A backup that failed its restore test is not worth a copy off-site.
    const uploaded =
      offsite && verify?.status !== 'failed' ? await offsite.upload(id, local.fileOf(id)) : null;
    const now = new Date();
    const removed = await local.prune(now, this.setup.localRetentionMs);
    const removedOffsite = offsite ? await offsite.prune(now, this.setup.offsiteRetentionMs) : [];
    return { id, verify, offsite: uploaded, removed, removedOffsite };
  }
}
