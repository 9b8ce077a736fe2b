import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { Clock } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { ObjectDeletions, objectKeyOf } from '@forecourt/storage';
import type { ExportFormat } from './export-tables';

/** Claims of one export before it is given up as failed. */
export const MAX_ATTEMPTS = 3;
/** How long a completed archive can be downloaded. */
export const DOWNLOADABLE_MS = 7 * 24 * 3600_000;
/** Candidates looked at per claim (the first free one is taken). */
const CLAIM_CANDIDATES = 10;
/** No tenant's rows are visible in this scope; `app.claimable_exports` alone reads across tenants. */
const NO_TENANT = '00000000-0000-0000-0000-000000000000';

/** An export an instance has claimed: `attempt` is its fencing token for every later update. */
export interface ExportJob {
  tenantId: string;
  id: string;
  format: ExportFormat;
  attempt: number;
}

/** The archive as stored, for {@link ExportQueue.complete}. */
export interface StoredArchive {
  objectPath: string;
  size: number;
  sha256: string;
  rowCount: number;
}

/** Thrown when the lease of a running export has passed to another instance. */
export class LeaseLostError extends Error {
  constructor() {
    super('the export was taken over by another instance');
    this.name = 'LeaseLostError';
  }
}

/**
 * The `exports` rows as a job queue. A claim takes one row (`for update skip locked`, so
 * instances never take the same one) and leases it for `leaseSeconds`; the holder renews the
 * lease with each progress report. A row whose lease ran out (its instance died or hung) is
 * claimed again and restarted from scratch; after {@link MAX_ATTEMPTS} claims it is failed.
 * Every change of a running row names its attempt, so a holder that lost the lease changes
 * nothing (and learns it, {@link LeaseLostError}).
 */
@Injectable()
export class ExportQueue {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
    private readonly deletions: ObjectDeletions,
    private readonly clock: Clock,
  ) {}

  /** The next export to run, claimed for `leaseSeconds`; null when none is waiting. */
  async claimNext(leaseSeconds: number): Promise<ExportJob | null> {
    const { rows: candidates } = await this.transactions.statement<{ tenant_id: string; id: string }>(
      { tenantId: NO_TENANT, stores: [] },
      'select tenant_id, id from app.claimable_exports($1)',
      [CLAIM_CANDIDATES],
    );
    for (const candidate of candidates) {
      const job = await this.claim(candidate.tenant_id, candidate.id, leaseSeconds);
      if (job) return job;
    }
    return null;
  }

  /** Renews the lease and records the progress; throws {@link LeaseLostError} if it is gone. */
  async heartbeat(
    job: ExportJob,
    leaseSeconds: number,
    rowsDone: number,
    rowsTotal: number | null,
  ): Promise<void> {
    const { rowCount } = await this.transactions.statement(
      { tenantId: job.tenantId, stores: [] },
      `update exports set lease_until = now() + make_interval(secs => $4), rows_done = $5,
         rows_total = coalesce($6, rows_total)
        where tenant_id = $1 and id = $2 and status = 'running' and attempts = $3`,
      [job.tenantId, job.id, job.attempt, leaseSeconds, rowsDone, rowsTotal],
    );
    if (rowCount !== 1) throw new LeaseLostError();
  }

  /**
   * Marks the export completed with its stored archive, downloadable for 7 days from now; the
   * archive itself is removed by the object sweep once they have passed.
   */
  async complete(job: ExportJob, archive: StoredArchive): Promise<void> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + DOWNLOADABLE_MS);
    await this.transactions.run({ tenantId: job.tenantId, stores: [] }, async (tx) => {
      const { rowCount } = await tx.query(
        `update exports set status = 'completed', lease_until = null, object_path = $4, size_bytes = $5,
           sha256 = decode($6, 'hex'), row_count = $7, rows_done = $7, rows_total = $7,
           completed_at = $8, expires_at = $9
          where tenant_id = $1 and id = $2 and status = 'running' and attempts = $3`,
        [
          job.tenantId,
          job.id,
          job.attempt,
          archive.objectPath,
          archive.size,
          archive.sha256,
          archive.rowCount,
          now,
          expiresAt,
        ],
      );
      if (rowCount !== 1) throw new LeaseLostError();
      const objectKey = objectKeyOf({ tenantId: job.tenantId }, archive.objectPath);
      await this.deletions.keepUntil(tx, objectKey, expiresAt);
      await this.trail.append(tx, null, {
        action: 'export.complete',
        subjectType: 'Export',
        subjectId: job.id,
      });
    });
  }

  /**
   * After a failed attempt: queued again (not before `retryAfterSeconds`) while attempts remain,
   * otherwise failed for good. `failure` is a fixed text, never a value from the data.
   */
  async attemptFailed(job: ExportJob, failure: string, retryAfterSeconds: number): Promise<void> {
    await this.transactions.run({ tenantId: job.tenantId, stores: [] }, async (tx) => {
      const last = job.attempt >= MAX_ATTEMPTS;
      const { rowCount } = await tx.query(
        `update exports set status = $4, failure = $5, rows_done = 0,
           lease_until = case when $4 = 'queued' then now() + make_interval(secs => $6) end
          where tenant_id = $1 and id = $2 and status = 'running' and attempts = $3`,
        [job.tenantId, job.id, job.attempt, last ? 'failed' : 'queued', failure, retryAfterSeconds],
      );
      if (rowCount === 1 && last) {
        await this.trail.append(tx, null, {
          action: 'export.fail',
          subjectType: 'Export',
          subjectId: job.id,
          reason: failure,
        });
      }
    });
  }

  /** On shutdown: the export goes back to the queue at once, the attempt not counted. */
  async release(job: ExportJob): Promise<void> {
    await this.transactions.statement(
      { tenantId: job.tenantId, stores: [] },
      `update exports set status = 'queued', lease_until = null, rows_done = 0, attempts = attempts - 1
        where tenant_id = $1 and id = $2 and status = 'running' and attempts = $3`,
      [job.tenantId, job.id, job.attempt],
    );
  }

  private claim(tenantId: string, id: string, leaseSeconds: number): Promise<ExportJob | null> {
    return this.transactions.run({ tenantId, stores: [] }, async (tx) => {
      const { rows } = await tx.query<{ format: ExportFormat; attempts: number }>(
        `select format, attempts from exports
          where tenant_id = $1 and id = $2 and status in ('queued', 'running')
            and coalesce(lease_until, '-infinity') < now()
          for update skip locked`,
        [tenantId, id],
      );
      const row = rows[0];
      if (!row) return null;
      if (row.attempts >= MAX_ATTEMPTS) {
        // Its last attempt died with its instance: give up cleanly rather than loop.
        await tx.query(
          `update exports set status = 'failed', lease_until = null, rows_done = 0, failure = $3
            where tenant_id = $1 and id = $2`,
          [tenantId, id, 'gave up after repeated interruptions'],
        );
        await this.trail.append(tx, null, {
          action: 'export.fail',
          subjectType: 'Export',
          subjectId: id,
          reason: 'gave up after repeated interruptions',
        });
        return null;
      }
      await tx.query(
        `update exports set status = 'running', attempts = attempts + 1, rows_done = 0, failure = null,
           lease_until = now() + make_interval(secs => $3)
          where tenant_id = $1 and id = $2`,
        [tenantId, id, leaseSeconds],
      );
      return { tenantId, id, format: row.format, attempt: row.attempts + 1 };
    });
  }
}
