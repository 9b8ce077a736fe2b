import { Injectable } from '@nestjs/common';
import { TenantTransaction } from '@forecourt/database';
import { type AuditEvent, PLATFORM_CHAIN, type SealedAuditEvent } from './audit-event';
import { eventOf, EVENT_COLUMNS, EventRow } from './audit-rows';
import { GENESIS_HASH, sealEvents } from './chain';

/** Events sealed per transaction; a longer backlog takes several. */
const SEAL_BATCH = 5_000;
/** Events hashed between two turns of the event loop (about a millisecond of work). */
const HASH_SLICE = 100;
/** The first key of the per-chain advisory lock (the second is the chain's hash). */
const SEAL_LOCK = 0x61756469; // 'audi'

/**
 * Numbers and chains new events. Writers only insert; the sealer, holding a per-chain advisory
 * lock so that one sealer at a time works on a chain (across every instance), takes the chain's
 * unsealed events in (at, id) order, gives them the next `seq` numbers and links each to the one
 * before. It picks events by "not sealed yet", never by an id range, so an event whose
 * transaction commits late is sealed by a later round rather than skipped.
 */
@Injectable()
export class AuditSealer {
  constructor(private readonly transactions: TenantTransaction) {}

  /** Seals every chain that has unsealed events; a chain another sealer holds is left to it. */
  async sealAll(): Promise<number> {
    const { rows } = await this.transactions.statement<{ chain: string }>(
      { tenantId: PLATFORM_CHAIN, stores: [] },
      'select chain from app.audit_unsealed_chains() as chain',
    );
    let sealed = 0;
    for (const { chain } of rows) sealed += await this.seal(chain, { wait: false });
    return sealed;
  }

  /**
   * Seals `chain`'s unsealed events. With `wait` (a reader that must see everything committed so
   * far) it waits for another sealer to finish; without, it leaves the chain to that sealer.
   */
  async seal(chain: string, { wait }: { wait: boolean }): Promise<number> {
    let total = 0;
    for (;;) {
      const sealed = await this.transactions.run({ tenantId: chain, stores: 'all' }, async (tx) => {
        const lock = await tx.query<{ locked: boolean }>(
          wait
            ? 'select true as locked from pg_advisory_xact_lock($1, hashtext($2))'
            : 'select pg_try_advisory_xact_lock($1, hashtext($2)) as locked',
          [SEAL_LOCK, chain],
        );
        if (!lock.rows[0]?.locked) return 0;
        const head = await tx.query<{ seq: string; hash: string }>(
          `select seq, encode(hash, 'hex') as hash from audit_heads where tenant_id = $1`,
          [chain],
        );
        const pending = await tx.query<EventRow>(
          // The table's columns, not the output's text `at`: so the unsealed index hands over the
          // first batch instead of the whole backlog being read and sorted.
          `select ${EVENT_COLUMNS} from audit_events where tenant_id = $1 and seq is null
            order by audit_events.at, audit_events.id limit $2`,
          [chain, SEAL_BATCH],
        );
        if (pending.rows.length === 0) return 0;
        const start = head.rows[0] ? { seq: Number(head.rows[0].seq), hash: head.rows[0].hash } : null;
        const events = await sealInSlices(start ?? { seq: 0, hash: GENESIS_HASH }, pending.rows.map(eventOf));
        await tx.query(
          `update audit_events e set seq = s.seq, prev_hash = decode(s.prev_hash, 'hex'), hash = decode(s.hash, 'hex')
            from unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[]) as s(id, seq, prev_hash, hash)
           where e.tenant_id = $1 and e.id = s.id and e.id = any($2::uuid[]) and e.seq is null`,
          [
            chain,
            events.map((event) => event.id),
            events.map((event) => event.seq),
            events.map((event) => event.prevHash),
            events.map((event) => event.hash),
          ],
        );
        const last = events[events.length - 1]!;
        await tx.query(
          `insert into audit_heads (tenant_id, seq, hash) values ($1, $2, decode($3, 'hex'))
           on conflict (tenant_id) do update set seq = excluded.seq, hash = excluded.hash, sealed_at = now()`,
          [chain, last.seq, last.hash],
        );
        return events.length;
      });
      total += sealed;
      if (sealed < SEAL_BATCH) return total;
    }
  }
}

/**
 * {@link sealEvents} in slices, letting the event loop serve requests between them: a second's
 * events of a busy API (thousands) would otherwise hold every request behind ~20 ms of hashing.
 */
async function sealInSlices(
  head: { seq: number; hash: string },
  events: AuditEvent[],
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
