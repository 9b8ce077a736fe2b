import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { DatabaseError } from 'pg';
import { TenantTransaction } from '@forecourt/database';
import type { AuditEvent, SealedAuditEvent } from './audit-event';
import { INSERT_FLUSHED_EVENTS, storedAsWritten } from './audit-rows';
import { GENESIS_HASH, HASH_SLICE, sealEvents, sealEventsInSlices } from './chain';
import { type ChainHead, ChainHeads, SEAL_LOCK } from './chain-heads';

interface Waiting {
  event: AuditEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Events per insert at most; more wait for the next one. */
const MAX_BATCH = 500;
/** Chains written at once at most: each batch is a statement on a connection of the pool. */
const MAX_CHAINS_IN_FLIGHT = 8;
/**
 * Sealed events whose numbers are already taken: only a writer that moved the head without this
 * statement's care (the unique index on `seq` refuses the second event at a place).
 */
function numbersTaken(error: unknown): boolean {
  return (
    error instanceof DatabaseError && error.code === '23505' && error.constraint === 'audit_events_seq_key'
  );
}

interface FlushRow {
  sealed: boolean;
  inserted: number;
  headSeq: string | null;
  headHash: string | null;
}

/**
 * Group commit for events that describe no write (reads, denials): each caller waits until its
 * event has committed, but callers arriving together share one multi-row insert and one commit
 * per chain. Nothing waits on a timer: a chain's batch leaves as soon as the chain has no batch in
 * flight, and whatever arrives for it meanwhile leaves with the next.
 *
 * Each batch goes in sealed when it can: numbered and linked after the chain's head as last seen
 * ({@link ChainHeads}), so the event is written once, not inserted and then rewritten by the
 * sealer. One batch per chain at a time is what makes that the rule: the next batch finds the
 * chain's seal lock free and the head where the one before left it. (With two in flight, the
 * second met the first's lock and about half of a busy chain's events went in unsealed.) When the
 * head has moved (another instance, the sealer) or the sealer holds the chain, the batch goes in
 * unsealed instead and the sealer chains it, as it does every write's event.
 */
@Injectable()
export class AuditFlusher implements BeforeApplicationShutdown {
  /** Events waiting, by chain, the chain waiting longest first. */
  private readonly waiting = new Map<string, Waiting[]>();
  /** Chains with a batch in flight. */
  private readonly writing = new Set<string>();
  private idle: (() => void)[] = [];
  // Flushes run in the context the flusher was made in, not in the request that happened to
  // start them, so no request's open transaction is ever mistaken for theirs.
  private readonly root = new AsyncResource('AuditFlusher');

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly heads: ChainHeads,
  ) {}

  /** Resolves once `event` is committed; rejects if it could not be written. */
  write(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      const chain = this.waiting.get(event.tenantId);
      if (chain) chain.push({ event, resolve, reject });
      else this.waiting.set(event.tenantId, [{ event, resolve, reject }]);
      this.root.runInAsyncScope(() => this.drain());
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.waiting.size === 0 && this.writing.size === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private drain(): void {
    for (const [chain, queued] of this.waiting) {
      if (this.writing.size >= MAX_CHAINS_IN_FLIGHT) return;
      if (this.writing.has(chain)) continue;
      const batch = queued.splice(0, MAX_BATCH);
      if (queued.length === 0) this.waiting.delete(chain);
      this.writing.add(chain);
      void this.flush(chain, batch).finally(() => {
        this.writing.delete(chain);
        this.drain();
        if (this.waiting.size === 0 && this.writing.size === 0) this.idle.splice(0).forEach((done) => done());
      });
    }
  }

  private async flush(chain: string, batch: Waiting[]): Promise<void> {
    try {
      await this.insertChain(
        chain,
        batch.map((entry) => entry.event),
      );
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }

  private async insertChain(chain: string, events: AuditEvent[]): Promise<void> {
    const head = events.every(storedAsWritten) ? this.heads.get(chain) : undefined;
    try {
      await this.insert(chain, events, head);
    } catch (error) {
      if (!head || !numbersTaken(error)) throw error;
      this.heads.forget(chain);
      await this.insert(chain, events, undefined);
    }
  }

  /** Inserts `events`, sealed after `head` when given and still current; learns the head. */
  private async insert(chain: string, events: AuditEvent[], head: ChainHead | undefined): Promise<void> {
    // A usual batch is sealed at once, and the head taken to be its last before it is sent: the
    // chain's next batch, sent once this one has committed, chains after it.
    const sealed: SealedAuditEvent[] | null = !head
      ? null
      : events.length <= HASH_SLICE
        ? sealEvents(head, events)
        : await sealEventsInSlices(head, events);
    const last = sealed?.[sealed.length - 1];
    if (last) this.heads.set(chain, { seq: last.seq, hash: last.hash });
    const { rows } = await this.transactions.statement<FlushRow>(
      { tenantId: chain, stores: 'all' },
      INSERT_FLUSHED_EVENTS,
      [
        SEAL_LOCK,
        chain,
        head?.seq ?? -1,
        JSON.stringify(sealed ?? events),
        head?.hash,
        last?.seq,
        last?.hash,
      ],
      { prepared: true, detached: true },
    );
    const found = rows[0]!;
    if (found.sealed) return;
    if (found.headSeq === null) this.heads.set(chain, { seq: 0, hash: GENESIS_HASH });
    else this.heads.set(chain, { seq: Number(found.headSeq), hash: found.headHash! });
  }
}
