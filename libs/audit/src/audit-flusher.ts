import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { TenantTransaction } from '@forecourt/database';
import type { AuditEvent } from './audit-event';
import { INSERT_EVENTS } from './audit-rows';

interface Waiting {
  event: AuditEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Events per insert at most; more wait for the next one. */
const MAX_BATCH = 500;
/** Inserts in flight at once: one fills while the other commits. */
const MAX_IN_FLIGHT = 2;

/**
 * Group commit for events that describe no write (reads, denials): each caller waits until its
 * event has committed, but callers arriving together share one multi-row insert and one commit
 * per chain. Nothing waits on a timer: a batch leaves as soon as an insert slot is free, and
 * whatever arrives while it commits leaves with the next.
 */
@Injectable()
export class AuditFlusher implements BeforeApplicationShutdown {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];
  // Flushes run in the context the flusher was made in, not in the request that happened to
  // start them, so no request's open transaction is ever mistaken for theirs.
  private readonly root = new AsyncResource('AuditFlusher');

  constructor(private readonly transactions: TenantTransaction) {}

  /** Resolves once `event` is committed; rejects if it could not be written. */
  write(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.root.runInAsyncScope(() => this.drain());
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private drain(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight += 1;
      void this.flush(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
        if (this.queue.length === 0 && this.inFlight === 0) this.idle.splice(0).forEach((done) => done());
      });
    }
  }

  private async flush(batch: Waiting[]): Promise<void> {
    const chains = new Map<string, Waiting[]>();
    for (const waiting of batch) {
      const chain = chains.get(waiting.event.tenantId) ?? [];
      chain.push(waiting);
      chains.set(waiting.event.tenantId, chain);
    }
    await Promise.all(
      [...chains].map(async ([chain, waiting]) => {
        try {
          await this.transactions.statement(
            { tenantId: chain, stores: 'all' },
            INSERT_EVENTS,
            [JSON.stringify(waiting.map((entry) => entry.event))],
            { prepared: true },
          );
          for (const entry of waiting) entry.resolve();
        } catch (error) {
          for (const entry of waiting) entry.reject(error);
        }
      }),
    );
  }
}
