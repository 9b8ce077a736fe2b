import { Injectable } from '@nestjs/common';

/**
 * The first key of a chain's seal lock, a transaction-level advisory lock (the second key is the
 * chain's `hashtext`): whoever seals events of the chain holds it.
 */
export const SEAL_LOCK = 0x61756469; // 'audi'

/** Where a chain ends: the last sealed event's number and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * The head of each chain as this process last saw it: the guess that lets a group commit seal
 * its events as it inserts them (one write per event instead of an insert and the sealer's
 * rewrite). Only a guess: another instance, or this one's sealer, may have moved the head since.
 * The insert checks it against the database, and a stale guess costs nothing but that batch going
 * in unsealed, for the sealer to chain.
 */
@Injectable()
export class ChainHeads {
  private readonly heads = new Map<string, ChainHead>();

  get(chain: string): ChainHead | undefined {
    return this.heads.get(chain);
  }

  set(chain: string, head: ChainHead): void {
    this.heads.set(chain, head);
  }

  forget(chain: string): void {
    this.heads.delete(chain);
  }
}
