import { Injectable, Logger } from '@nestjs/common';
import { DecryptionError } from '@forecourt/crypto';
import { newId } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { type ObjectOwner, ObjectStore } from '@forecourt/storage';
import { PLATFORM_CHAIN } from './audit-event';
import { AuditSealer } from './audit-sealer';
import { AuditSigningKey } from './audit-signing-key';
import { type Checkpoint, signCheckpoint } from './checkpoint-note';

/** Where a chain's checkpoints are kept outside the database. */
const CHECKPOINT_FOLDER = 'audit/checkpoints';

/** Whose objects a chain's checkpoints are: the tenant's (under its key), or the platform's. */
function ownerOf(chain: string): ObjectOwner {
  return chain === PLATFORM_CHAIN ? 'platform' : { tenantId: chain };
}

/**
 * Signed checkpoints of each chain's head, kept twice: in the database and as objects outside
 * it. Someone able to rewrite the database (a superuser can switch the append-only triggers
 * off) can rewrite events and hashes alike; the copy outside, and the copies the tenant holds,
 * are what such a rewrite cannot match.
 */
@Injectable()
export class AuditCheckpoints {
  private readonly log = new Logger(AuditCheckpoints.name);

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly signingKey: AuditSigningKey,
    private readonly objects: ObjectStore,
    private readonly sealer: AuditSealer,
  ) {}

  /**
   * Seals the chain, then signs its head unless its latest checkpoint already covers it; returns
   * the latest checkpoint (null while the chain is empty).
   */
  async checkpoint(chain: string): Promise<Checkpoint | null> {
    await this.sealer.seal(chain, { wait: true });
    const scope = { tenantId: chain, stores: 'all' as const };
    const { rows } = await this.transactions.statement<{
      seq: string;
      hash: string;
      latest: Checkpoint | null;
    }>(
      scope,
      `select h.seq, encode(h.hash, 'hex') as hash,
        (select jsonb_build_object('tenantId', c.tenant_id, 'seq', c.seq, 'hash', encode(c.hash, 'hex'),
                  'signedAt', to_char(c.signed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'keyId', c.key_id, 'note', c.note)
           from audit_checkpoints c where c.tenant_id = h.tenant_id order by c.seq desc, c.signed_at desc limit 1) as latest
       from audit_heads h where h.tenant_id = $1`,
      [chain],
    );
    const head = rows[0];
    if (!head) return null;
    if (head.latest && head.latest.seq >= Number(head.seq)) return head.latest;

    const checkpoint = signCheckpoint(
      this.signingKey.privateKey,
      this.signingKey.publicKey,
      { tenantId: chain, seq: Number(head.seq), hash: head.hash },
      new Date(),
    );
    // Outside first: a checkpoint the database holds always has its outside copy.
    await this.objects.put(
      ownerOf(chain),
      `${CHECKPOINT_FOLDER}/${String(checkpoint.seq).padStart(16, '0')}-${checkpoint.keyId}.note`,
      checkpoint.note,
    );
    await this.transactions.statement(
      scope,
      `insert into audit_checkpoints (tenant_id, id, seq, hash, signed_at, key_id, note)
       values ($1, $2, $3, decode($4, 'hex'), $5, $6, $7) on conflict (tenant_id, seq, key_id) do nothing`,
      [
        chain,
        newId(),
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.signedAt,
        checkpoint.keyId,
        checkpoint.note,
      ],
    );
    return checkpoint;
  }

  /** Checkpoints every chain whose head moved since its last checkpoint. */
  async checkpointAll(): Promise<number> {
    const { rows } = await this.transactions.statement<{ chain: string }>(
      { tenantId: PLATFORM_CHAIN, stores: [] },
      'select chain from app.audit_unchecked_chains() as chain',
    );
    for (const { chain } of rows) await this.checkpoint(chain);
    return rows.length;
  }

  /** Every checkpoint note of the chain, from the database and from object storage. */
  async notes(chain: string): Promise<string[]> {
    const { rows } = await this.transactions.statement<{ note: string }>(
      { tenantId: chain, stores: 'all' },
      'select note from audit_checkpoints where tenant_id = $1 order by seq',
      [chain],
    );
    const outside = await Promise.all(
      (await this.objects.list(ownerOf(chain), CHECKPOINT_FOLDER)).map(async (path) => {
        try {
          return (await this.objects.get(ownerOf(chain), path))?.toString('utf8');
        } catch (error) {
          // An outside copy that does not open (damaged, or written before objects were
          // encrypted) witnesses nothing; the others and the database's copies still count.
          if (!(error instanceof DecryptionError)) throw error;
          this.log.warn(`audit checkpoint object ${path} of chain ${chain} does not open; skipped`);
          return undefined;
        }
      }),
    );
    return [
      ...new Set([...rows.map((row) => row.note), ...outside.filter((note): note is string => !!note)]),
    ];
  }

  /** The chain's checkpoints as the database lists them, newest first. */
  async list(chain: string, limit: number): Promise<Checkpoint[]> {
    const { rows } = await this.transactions.statement<Checkpoint & { seq: string }>(
      { tenantId: chain, stores: 'all' },
      `select tenant_id as "tenantId", seq, encode(hash, 'hex') as hash,
          to_char(signed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "signedAt", key_id as "keyId", note
        from audit_checkpoints where tenant_id = $1 order by seq desc limit $2`,
      [chain, limit],
    );
    return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }
}
