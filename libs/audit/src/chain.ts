import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { AuditEvent, SealedAuditEvent } from './audit-event';

/** The `prevHash` of a chain's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The bytes an event's hash covers: its fields and its `seq`, as canonical JSON (RFC 8785), so
 * anyone can recompute them from an export with any RFC 8785 implementation.
 */
export function canonicalEvent(event: AuditEvent, seq: number): string {
  const fields = {
    tenantId: event.tenantId,
    seq,
    id: event.id,
    at: event.at,
    actorId: event.actorId,
    actorRole: event.actorRole,
    supportGrantId: event.supportGrantId,
    action: event.action,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    subjectIds: event.subjectIds,
    storeId: event.storeId,
    requestId: event.requestId,
    ip: event.ip,
    userAgent: event.userAgent,
    outcome: event.outcome,
    reason: event.reason,
    changedFields: event.changedFields,
  };
  const text = canonicalize(fields);
  if (text === undefined) throw new Error('an audit event must be serialisable');
  return text;
}

/** hash = SHA-256(prevHash ‖ canonical event), hex. */
export function chainHash(prevHash: string, event: AuditEvent, seq: number): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalEvent(event, seq), 'utf8')
    .digest('hex');
}

/** Numbers and links `events` after the head (`seq` 0 and the genesis hash for a new chain). */
export function sealEvents(
  head: { seq: number; hash: string },
  events: readonly AuditEvent[],
): SealedAuditEvent[] {
  let { seq, hash } = head;
  return events.map((event) => {
    seq += 1;
    const sealed = { ...event, seq, prevHash: hash, hash: chainHash(hash, event, seq) };
    hash = sealed.hash;
    return sealed;
  });
}

/** Events hashed between two turns of the event loop (about a millisecond of work). */
export const HASH_SLICE = 100;

/**
 * {@link sealEvents} in slices, letting the event loop serve requests between them: a second's
 * events of a busy API (thousands) would otherwise hold every request behind ~20 ms of hashing.
 */
export async function sealEventsInSlices(
  head: { seq: number; hash: string },
  events: readonly AuditEvent[],
): Promise<SealedAuditEvent[]> {
  const sealed: SealedAuditEvent[] = [];
  let last = head;
  for (let start = 0; start < events.length; start += HASH_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const slice = sealEvents(last, events.slice(start, start + HASH_SLICE));
    sealed.push(...slice);
    const tail = slice[slice.length - 1]!;
    last = { seq: tail.seq, hash: tail.hash };
  }
  return sealed;
}
