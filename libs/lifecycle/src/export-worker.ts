import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { ObjectDeletions, objectKeyOf } from '@forecourt/storage';
import { ExportArchive, type ExportProgress } from './export-archive';
import { type ExportJob, ExportQueue, LeaseLostError } from './export-queue';

/** How often a running export reports its progress (and renews its lease). */
const HEARTBEAT_MS = 500;
/** A failed attempt is retried after this many seconds times its number. */
const RETRY_BACKOFF_SECONDS = 5;

/** Why a run was stopped from outside: the instance is shutting down. */
class ShuttingDown extends Error {
  constructor() {
    super('the instance is shutting down');
    this.name = 'ShuttingDown';
  }
}

/**
 * Runs tenant exports on this instance, one at a time: every `EXPORT_POLL_MS` (and at once when
 * this instance queues one) it claims the next export from {@link ExportQueue} and writes its
 * archive, reporting progress and renewing its lease every {@link HEARTBEAT_MS}. A run that fails
 * is retried from scratch (its partial object is never kept); one that loses its lease stops
 * without touching the row; on shutdown the run stops and its export goes back to the queue, so
 * the next instance (or this one, restarted) starts it again. A run that dies with its process
 * is taken up by whichever instance claims it once its lease has run out.
 */
@Injectable()
export class ExportWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(ExportWorker.name);
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | null = null;
  private current: AbortController | null = null;
  private stopping = false;
  private readonly context = new AsyncResource(ExportWorker.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queue: ExportQueue,
    private readonly archive: ExportArchive,
    private readonly deletions: ObjectDeletions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.exportPollMs === 0) return;
    this.timer = setInterval(() => this.poke(), this.config.exportPollMs);
    this.timer.unref();
    this.poke();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.current?.abort(new ShuttingDown());
    await this.draining;
  }

  /** Looks for work now (a no-op while a run is going, or when this instance runs no exports). */
  poke(): void {
    if (this.config.exportPollMs === 0 || this.stopping || this.draining) return;
    // In the worker's own async context: never in that of the request that queued the export.
    this.draining = this.context
      .runInAsyncScope(() => this.drain())
      .catch((error: unknown) => this.log.warn(`export queue unavailable: ${(error as Error).message}`))
      .finally(() => (this.draining = null));
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      const job = await this.queue.claimNext(this.config.exportLeaseSeconds);
      if (!job) return;
      await this.run(job);
    }
  }

  private async run(job: ExportJob): Promise<void> {
    const controller = new AbortController();
    this.current = controller;
    const progress: ExportProgress = { rowsDone: 0, rowsTotal: null };
    const heartbeat = setInterval(() => {
      this.queue
        .heartbeat(job, this.config.exportLeaseSeconds, progress.rowsDone, progress.rowsTotal)
        .catch((error: Error) => {
          if (error instanceof LeaseLostError) controller.abort(error);
          // Otherwise the database is briefly away: the lease has slack for the next beat.
        });
    }, HEARTBEAT_MS);
    try {
      await this.removeEarlierAttempts(job);
      // Reserved before a byte is written: whatever an attempt leaves behind goes within a day.
      await this.deletions.reserve(job.tenantId, this.objectKeyOf(job, job.attempt));
      const archive = await this.archive.write(job, progress, controller.signal);
      await this.queue.complete(job, archive);
      this.log.log(`export ${job.id} completed: ${archive.rowCount} rows, ${archive.size} bytes`);
    } catch (error) {
      await this.afterFailure(job, controller.signal.reason ?? error);
    } finally {
      clearInterval(heartbeat);
      this.current = null;
    }
  }

  private async afterFailure(job: ExportJob, error: unknown): Promise<void> {
    await this.deletions.carryOut(job.tenantId, [this.objectKeyOf(job, job.attempt)]);
    if (error instanceof LeaseLostError) {
      this.log.warn(`export ${job.id}: ${error.message}; stopped`);
      return;
    }
    if (error instanceof ShuttingDown) {
      await this.queue.release(job).catch(() => undefined); // else its lease runs out
      return;
    }
    // The error's name only: a message may quote data from the rows.
    this.log.error(`export ${job.id} attempt ${job.attempt} failed: ${(error as Error).name}`);
    await this.queue
      .attemptFailed(job, 'the archive could not be written', RETRY_BACKOFF_SECONDS * job.attempt)
      .catch((failure: Error) => this.log.warn(`export ${job.id}: ${failure.message}`));
  }

  /** A restart begins from nothing: whatever an earlier, interrupted attempt stored goes. */
  private async removeEarlierAttempts(job: ExportJob): Promise<void> {
    const earlier = Array.from({ length: job.attempt - 1 }, (_, index) => this.objectKeyOf(job, index + 1));
    if (earlier.length > 0) await this.deletions.carryOut(job.tenantId, earlier);
  }

  private objectKeyOf(job: ExportJob, attempt: number): string {
    return objectKeyOf({ tenantId: job.tenantId }, ExportArchive.objectPathOf(job.id, attempt));
  }
}
