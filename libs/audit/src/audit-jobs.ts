import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditSealer } from './audit-sealer';

/**
 * The trail's background work on every API instance: sealing new events every
 * `AUDIT_SEAL_INTERVAL_MS`, and signing a checkpoint of each moved chain every
 * `AUDIT_CHECKPOINT_MINUTES`. Instances share the work safely: a chain is sealed under its
 * advisory lock, and a checkpoint of a head that already has one is not signed again.
 */
@Injectable()
export class AuditJobs implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditJobs');
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly sealer: AuditSealer,
    private readonly checkpoints: AuditCheckpoints,
  ) {}

  onApplicationBootstrap(): void {
    this.every('audit-seal', this.config.auditSealIntervalMs, () => this.sealer.sealAll());
    this.every('audit-checkpoint', this.config.auditCheckpointMinutes * 60_000, async () => {
      await this.sealer.sealAll();
      await this.checkpoints.checkpointAll();
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const name of ['audit-seal', 'audit-checkpoint']) {
      if (this.registry.doesExist('interval', name)) this.registry.deleteInterval(name);
    }
    await Promise.allSettled(this.running.values());
  }

  /** Runs `job` every `ms`; a run still going when the next is due makes that one skip. */
  private every(name: string, ms: number, job: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      if (this.running.has(name)) return;
      const run = job()
        .catch((error: unknown) => this.logger.warn(`${name} failed: ${(error as Error).message}`))
        .finally(() => this.running.delete(name));
      this.running.set(name, run);
    }, ms);
    timer.unref();
    this.registry.addInterval(name, timer);
  }
}
