import { Injectable } from '@nestjs/common';
import { type Page, type RequestContext, RequestError, RequestErrorCode } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { PLATFORM_CHAIN, type SealedAuditEvent } from './audit-event';
import { AuditCheckpoints } from './audit-checkpoints';
import { csvHeader, EXPORT_FORMAT_VERSION, type ExportFormat, formatRecord } from './audit-export';
import { EVENT_COLUMNS, EventRow, sealedEventOf } from './audit-rows';
import { AuditSealer } from './audit-sealer';
import { AuditSigningKey } from './audit-signing-key';
import { AuditTrail } from './audit-trail';
import { ChainVerifier, type VerifyReport } from './chain-verifier';

export interface AuditFilter {
  action?: string;
  actorId?: string;
  subjectId?: string;
  requestId?: string;
}

/** Events read per round trip when a whole chain streams past (verify, export). */
const STREAM_BATCH = 2_000;

/**
 * Reading a chain: filtered pages, the whole chain as a stream, and its verification. Each
 * seals the chain first, so it covers every event committed before the call.
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly sealer: AuditSealer,
    private readonly checkpoints: AuditCheckpoints,
    private readonly signingKey: AuditSigningKey,
    private readonly trail: AuditTrail,
  ) {}

  /**
   * A page of the chain's events matching `filter`, newest first (keyset on `seq`). `visible`: the
   * caller's row condition over the columns of `audit_events` (its placeholders from `$8` on).
   */
  async page(
    chain: string,
    filter: AuditFilter,
    limit: number,
    cursor?: string,
    visible: { sql: string; params: unknown[] } = { sql: 'true', params: [] },
  ): Promise<Page<SealedAuditEvent>> {
    const beforeSeq = cursor === undefined ? null : seqOfCursor(cursor);
    await this.sealer.seal(chain, { wait: true });
    const { rows } = await this.transactions.statement<EventRow>(
      { tenantId: chain, stores: 'all' },
      `select ${EVENT_COLUMNS} from audit_events
        where tenant_id = $1 and seq is not null
          and ($2::text is null or action = $2)
          and ($3::uuid is null or actor_id = $3)
          and ($4::text is null or subject_id = $4 or subject_ids @> array[$4::text])
          and ($5::text is null or request_id = $5)
          and ($6::bigint is null or seq < $6)
          and ${visible.sql}
        order by seq desc limit $7`,
      [
        chain,
        filter.action ?? null,
        filter.actorId ?? null,
        filter.subjectId ?? null,
        filter.requestId ?? null,
        beforeSeq,
        limit + 1,
        ...visible.params,
      ],
    );
    const data = rows.slice(0, limit).map(sealedEventOf);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? cursorOfSeq(last.seq) : null };
  }

  /**
   * Records the export (durably, before any byte of it is sent) and returns the whole chain as
   * export lines, produced as they are read: a header with the verifying keys, the checkpoint
   * notes, then every event in `seq` order, the export's own event last.
   */
  async export(ctx: RequestContext, chain: string, format: ExportFormat): Promise<AsyncIterable<string>> {
    await this.trail.record(ctx, chain, { action: 'audit_event.export', subjectType: 'AuditEvent' });
    await this.sealer.seal(chain, { wait: true });
    const keys = (await this.signingKey.published()).map((key) => key.verifierKey);
    const notes = await this.checkpoints.notes(chain);
    const events = this.events(chain);
    return (async function* lines() {
      if (format === 'csv') yield csvHeader();
      const exportedAt = new Date().toISOString();
      yield formatRecord(format, {
        type: 'header',
        format: EXPORT_FORMAT_VERSION,
        tenantId: chain,
        exportedAt,
        keys,
      });
      for (const note of notes) yield formatRecord(format, { type: 'checkpoint', note });
      for await (const event of events) yield formatRecord(format, { type: 'event', ...event });
    })();
  }

  /** The whole chain in `seq` order, a batch at a time (constant memory however long it is). */
  async *events(chain: string): AsyncGenerator<SealedAuditEvent> {
    let after = 0;
    for (;;) {
      const { rows } = await this.transactions.statement<EventRow>(
        { tenantId: chain, stores: 'all' },
        `select ${EVENT_COLUMNS} from audit_events where tenant_id = $1 and seq > $2 order by seq limit $3`,
        [chain, after, STREAM_BATCH],
      );
      for (const row of rows) yield sealedEventOf(row);
      if (rows.length < STREAM_BATCH) return;
      after = Number(rows[rows.length - 1]!.seq);
    }
  }

  /** Seals, then recomputes the chain and checks it against every checkpoint and the recorded head. */
  async verify(chain: string): Promise<VerifyReport> {
    await this.sealer.seal(chain, { wait: true });
    const { rows } = await this.transactions.statement<{ seq: string; hash: string }>(
      { tenantId: chain, stores: 'all' },
      `select seq, encode(hash, 'hex') as hash from audit_heads where tenant_id = $1`,
      [chain],
    );
    const head = rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
    const verifier = new ChainVerifier(
      chain,
      await this.checkpoints.notes(chain),
      await this.signingKey.verifyingKeys(),
      head,
    );
    for await (const event of this.events(chain)) {
      if (!verifier.add(event)) break;
    }
    return verifier.finish();
  }

  /** The chains that hold any sealed event (for verifying everything from the CLI). */
  async chains(): Promise<string[]> {
    const { rows } = await this.transactions.statement<{ chain: string }>(
      { tenantId: PLATFORM_CHAIN, stores: [] },
      'select chain from app.audit_chains() as chain',
    );
    return rows.map((row) => row.chain);
  }
}

function cursorOfSeq(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

function seqOfCursor(cursor: string): number {
  const match = /^seq:([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new RequestError(RequestErrorCode.BadCursor, 'cursor: not a cursor this API issued');
  return Number(match[1]);
}
