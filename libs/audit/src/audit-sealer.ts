import { Injectable } from '@nestjs/common';
import { TenantTransaction } from '@forecourt/database';
import { PLATFORM_CHAIN } from './audit-event';
import { eventOf, EVENT_COLUMNS, EventRow } from './audit-rows';
import { GENESIS_HASH, sealEventsInSlices } from './chain';
import { ChainHeads, SEAL_LOCK } from './chain-heads';

/** Events sealed per transaction; a longer backlog takes several. */
const SEAL_BATCH = 5_000;

/**
 * Numbers and chains new events. Writers only insert; the sealer, holding a per-chain advisory
 * lock so that one sealer at a time works on a chain (across every instance), takes the chain's
 * unsealed events in (at, id) order, gives them the next `seq` numbers and links each to the one
 * before. It picks events by "not sealed yet", never by an id range, so an event whose
 * transaction commits late is sealed by a later round rather than skipped. (Read events usually
 * arrive sealed already: the group commit seals them under the same lock, see AuditFlusher.)
 */
@Injectable()
export class AuditSealer {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly heads: ChainHeads,
  ) {}

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
      const round = await this.transactions.run({ tenantId: chain, stores: 'all' }, async (tx) => {
        const lock = await tx.query<{ locked: boolean }>(
          wait
            ? 'select true as locked from pg_advisory_xact_lock($1, hashtext($2))'
            : 'select pg_try_advisory_xact_lock($1, hashtext($2)) as locked',
          [SEAL_LOCK, chain],
        );
        if (!lock.rows[0]?.locked) return null;
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
        const start = head.rows[0]
          ? { seq: Number(head.rows[0].seq), hash: head.rows[0].hash }
          : { seq: 0, hash: GENESIS_HASH };
        if (pending.rows.length === 0) return { ...start, sealed: 0 };
        const events = await sealEventsInSlices(start, pending.rows.map(eventOf));
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
        return { seq: last.seq, hash: last.hash, sealed: events.length };
      });
      if (!round) return total;
      this.heads.set(chain, { seq: round.seq, hash: round.hash });
      total += round.sealed;
      if (round.sealed < SEAL_BATCH) return total;
    }
  }
}
