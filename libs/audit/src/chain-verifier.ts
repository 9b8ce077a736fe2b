import type { KeyObject } from 'node:crypto';
import type { SealedAuditEvent } from './audit-event';
import { chainHash, GENESIS_HASH } from './chain';
import { type Checkpoint, openCheckpoint } from './checkpoint-note';

/** What a verification found. `firstInvalidSeq` is null exactly when `ok`. */
export interface VerifyReport {
  ok: boolean;
  /** The last seq up to which the chain is intact (0: nothing verified). */
  verifiedThroughSeq: number;
  firstInvalidSeq: number | null;
  /** Why it is not ok, in words; null when ok. */
  reason: string | null;
  /** How many signed checkpoints were checked against the chain. */
  checkpointsChecked: number;
}

/**
 * Checks one chain as its events stream past in `seq` order, in constant memory: numbering
 * without gaps from 1, each `prevHash` linking to the event before, each `hash` recomputed, and
 * the chain against every signed checkpoint — so events deleted from the end after a checkpoint
 * are caught as well as any rewrite before it.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private failure: { seq: number; reason: string } | null = null;
  private readonly checkpoints = new Map<number, Checkpoint[]>();
  private readonly latestCheckpointSeq: number;

  /**
   * @param notes         signed checkpoint notes from every place they are kept (duplicates are fine)
   * @param keys          the public keys trusted to sign them, by key id
   * @param recordedHead  the head the database says the chain reached (an export has none): held
   *                      to like an unsigned checkpoint
   */
  constructor(
    private readonly tenantId: string,
    notes: readonly string[],
    keys: ReadonlyMap<string, KeyObject>,
    private readonly recordedHead: { seq: number; hash: string } | null = null,
  ) {
    let latest = 0;
    for (const note of new Set(notes)) {
      const checkpoint = openCheckpoint(note, keys);
      if (!checkpoint || checkpoint.tenantId !== tenantId) {
        this.fail(claimedSeq(note), 'a checkpoint does not carry a valid signature for this chain');
        continue;
      }
      const atSeq = this.checkpoints.get(checkpoint.seq) ?? [];
      atSeq.push(checkpoint);
      this.checkpoints.set(checkpoint.seq, atSeq);
      latest = Math.max(latest, checkpoint.seq);
    }
    this.latestCheckpointSeq = latest;
  }

  /** Feeds the next event; false once the chain is known to be broken (the rest need not be read). */
  add(event: SealedAuditEvent): boolean {
    const seq = this.expectedSeq;
    if (this.failure && this.failure.seq <= seq) return false;
    if (event.tenantId !== this.tenantId)
      return this.fail(seq, `event ${event.seq} belongs to another chain`);
    if (event.seq > seq) return this.fail(seq, `event ${seq} is missing`);
    if (event.seq < seq) return this.fail(seq, `event ${event.seq} appears out of order`);
    if (event.prevHash !== this.prevHash)
      return this.fail(seq, `event ${seq} does not link to event ${seq - 1}`);
    if (chainHash(this.prevHash, event, seq) !== event.hash) {
      return this.fail(seq, `event ${seq} was changed after it was sealed`);
    }
    if ((this.checkpoints.get(seq) ?? []).some((checkpoint) => checkpoint.hash !== event.hash)) {
      return this.fail(seq, `event ${seq} differs from the signed checkpoint at ${seq}`);
    }
    if (this.recordedHead?.seq === seq && this.recordedHead.hash !== event.hash) {
      return this.fail(seq, `event ${seq} differs from the recorded chain head`);
    }
    this.prevHash = event.hash;
    this.expectedSeq += 1;
    return true;
  }

  /** The verdict once every event was fed. */
  finish(): VerifyReport {
    const recordedHeadSeq = this.recordedHead?.seq ?? 0;
    const through = this.expectedSeq - 1;
    if (!this.failure && this.latestCheckpointSeq > through) {
      this.fail(
        through + 1,
        `a signed checkpoint covers ${this.latestCheckpointSeq} events; ${through} remain`,
      );
    }
    if (!this.failure && recordedHeadSeq > through) {
      this.fail(through + 1, `the chain head was at ${recordedHeadSeq}; events after ${through} are gone`);
    }
    const checked = [...this.checkpoints.keys()].filter((seq) => seq <= through).length;
    if (!this.failure) {
      return {
        ok: true,
        verifiedThroughSeq: through,
        firstInvalidSeq: null,
        reason: null,
        checkpointsChecked: checked,
      };
    }
    return {
      ok: false,
      verifiedThroughSeq: Math.min(through, this.failure.seq - 1),
      firstInvalidSeq: this.failure.seq,
      reason: this.failure.reason,
      checkpointsChecked: checked,
    };
  }

  private fail(seq: number, reason: string): false {
    if (!this.failure || seq < this.failure.seq) this.failure = { seq, reason };
    return false;
  }
}

/** The size a note claims, unverified: only to point at where a bad checkpoint sits. */
function claimedSeq(note: string): number {
  const size = Number(note.split('\n')[1]);
  return Number.isSafeInteger(size) && size > 0 ? size : 1;
}
