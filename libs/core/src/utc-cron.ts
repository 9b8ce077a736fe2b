import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';

/**
 * Registers the job `name` to run `tick` on `cronTime` in UTC, whatever the host's zone. A tick
 * that fails goes to `failed` (to be logged): nothing is thrown into the timer.
 */
export function scheduleUtcCron(
  registry: SchedulerRegistry,
  name: string,
  cronTime: string,
  tick: () => Promise<unknown>,
  failed: (error: Error) => void,
): void {
  const job = CronJob.from({
    cronTime,
    timeZone: 'UTC',
    onTick: () => {
      tick().catch((error: unknown) => failed(error as Error));
    },
    start: true,
  });
  registry.addCronJob(name, job);
}

/** Removes the job `name` if it is registered (so shutting down twice does no harm). */
export function unscheduleCron(registry: SchedulerRegistry, name: string): void {
  if (registry.doesExist('cron', name)) registry.deleteCronJob(name);
}
