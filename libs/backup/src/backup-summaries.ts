import { Inject, Injectable } from '@nestjs/common';
import { BackupStatus, type BackupSummary } from '@forecourt/core';
import { withClient } from '@forecourt/database';
import type { BackupRunSetup } from './backup-runs';
import { BACKUP_SETUP } from './platform-backups';

/** A summary read at most this often: readiness probes and scrapes come every few seconds. */
const CACHE_MS = 10_000;

interface SummaryRow {
  last_verified_at: Date | null;
  last_completed_at: Date | null;
  last_size_bytes: string | null;
  last_run_seconds: number | null;
  last_verify_passed: boolean | null;
  last_verify_seconds: number | null;
  last_offsite_uploaded: boolean | null;
}

/** {@link BackupStatus} from the `backups` records: the same answer on every instance. */
@Injectable()
export class BackupSummaries extends BackupStatus {
  private cached: { at: number; summary: Promise<BackupSummary> } | null = null;

  constructor(@Inject(BACKUP_SETUP) private readonly setup: BackupRunSetup) {
    super();
  }

  summary(): Promise<BackupSummary> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > CACHE_MS) {
      const summary = this.read();
      summary.catch(() => (this.cached = null)); // a failed read is not remembered
      this.cached = { at: now, summary };
    }
    return this.cached.summary;
  }

  private async read(): Promise<BackupSummary> {
    const row = await withClient({ connectionString: this.setup.ownerUrl }, async (client) => {
      const { rows } = await client.query<SummaryRow>(
        `with completed as (
           select * from backups where status = 'completed' order by created_at desc limit 1
         ), tested as (
           select * from backups where verify_status is not null order by verified_at desc limit 1
         )
         select (select max(verified_at) from backups where verify_status = 'passed') as last_verified_at,
                (select finished_at from completed) as last_completed_at,
                (select size_bytes from completed) as last_size_bytes,
                (select extract(epoch from finished_at - created_at)::float8 from completed) as last_run_seconds,
                (select verify_status = 'passed' from tested) as last_verify_passed,
                (select verify_ms / 1000.0 from tested)::float8 as last_verify_seconds,
                (select offsite_status = 'uploaded' from completed) as last_offsite_uploaded`,
      );
      return rows[0]!;
    });
    return {
      lastVerifiedAt: row.last_verified_at,
      lastCompletedAt: row.last_completed_at,
      lastSizeBytes: row.last_size_bytes === null ? null : Number(row.last_size_bytes),
      lastRunSeconds: row.last_run_seconds,
      lastVerifyPassed: row.last_verify_passed,
      lastVerifySeconds: row.last_verify_seconds,
      lastOffsiteUploaded: row.last_offsite_uploaded,
    };
  }
}
