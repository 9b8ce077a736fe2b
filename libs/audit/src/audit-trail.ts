import { Injectable } from '@nestjs/common';
import { newId, type RequestContext } from '@forecourt/core';
import { TenantTransaction, type TenantWork } from '@forecourt/database';
import { type AuditEntry, auditEvent, PLATFORM_CHAIN } from './audit-event';
import { AuditFlusher } from './audit-flusher';
import { INSERT_EVENTS } from './audit-rows';

const APPEND_PERSON_EVENT = 'select app.append_person_audit_event($1, $2)';

/** Runs parameterised SQL in the caller's transaction: a tenant transaction, or a connection of its own. */
export type RunSql = (sql: string, params: unknown[]) => Promise<unknown>;

/**
 * Appends one event to each of `chains` (null: the platform's) through `run`, in the caller's
 * transaction, so it commits or rolls back with the change it describes. Every copy has the same
 * event id, as the copies of a person event do. Inserted unsealed, for the sealer. Besides
 * {@link AuditTrail.append}, an operator command on the schema owner's own connection writes its
 * events this way (the owner may insert into any chain: the `audit_person_events` policy).
 */
export async function appendToChains(
  run: RunSql,
  chains: readonly (string | null)[],
  ctx: RequestContext | null,
  entry: AuditEntry,
): Promise<void> {
  const id = newId();
  const at = new Date();
  const events = chains.map((chain) => auditEvent(chain ?? PLATFORM_CHAIN, id, ctx, entry, at));
  await run(INSERT_EVENTS, [JSON.stringify(events)]);
}

/**
 * The one way events enter the trail. Writes append inside their own transaction (the event
 * commits or rolls back with the change); reads and denials are recorded durably before the
 * response goes out, batched with other requests' events.
 */
@Injectable()
export class AuditTrail {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly flusher: AuditFlusher,
  ) {}

  /** Appends to the chain of `tx`'s tenant (the platform chain when it acts for none), in `tx`. */
  async append(tx: TenantWork, ctx: RequestContext | null, entry: AuditEntry): Promise<void> {
    await appendToChains((sql, params) => tx.query(sql, params), [tx.scope.tenantId], ctx, entry);
  }

  /**
   * Records an event that describes no write (a read, a denial) in `tenantId`'s chain (null: the
   * platform's); resolves once it has committed, so the response can only follow a durable event.
   * A caller whose session check is still pending is proven first: the batch it joins carries no
   * check of its own, and an event must not outlive a refused request.
   */
  record(ctx: RequestContext | null, tenantId: string | null, entry: AuditEntry): Promise<void> {
    const write = () => this.flusher.write(auditEvent(tenantId ?? PLATFORM_CHAIN, newId(), ctx, entry));
    // A read's event comes after its statement made the check: no extra promise on that path.
    return this.transactions.sessionCheckPending() ? this.transactions.proveSession().then(write) : write();
  }

  /**
   * An event about a person (signing in, MFA): one copy in the chain of each tenant they are an
   * active member of (with their role there), and in the platform chain when they have a
   * platform role, no membership in a live (not deleted) tenant, or are unknown (`userId` null). In `tx` when given, so it
   * commits with the change it describes; otherwise on its own, committed before it resolves.
   */
  async appendAboutPerson(
    tx: TenantWork | null,
    ctx: RequestContext,
    userId: string | null,
    entry: AuditEntry,
  ): Promise<void> {
    const event = auditEvent(PLATFORM_CHAIN, newId(), ctx, {
      ...entry,
      subjectId: entry.subjectId ?? userId,
    });
    const params = [userId, JSON.stringify(event)];
    if (tx) {
      await tx.query(APPEND_PERSON_EVENT, params);
      return;
    }
    const scope = userId
      ? { tenantId: null, stores: [], userId }
      : { tenantId: PLATFORM_CHAIN, stores: 'all' as const };
    await this.transactions.statement(scope, APPEND_PERSON_EVENT, params);
  }
}
