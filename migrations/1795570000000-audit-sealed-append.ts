import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events may go into the trail already sealed, so that a read's event is written once instead of
 * inserted and then rewritten by the sealer's UPDATE (one heap tuple and one set of index entries
 * per event, not two). The group commit's statement does it under the chain's seal lock, and only
 * while the head is where its events continue from: in the same statement it moves the head to
 * their last (see `INSERT_FLUSHED_EVENTS` in libs/audit).
 *
 * What the database guarantees stays what it was: the trail is append-only (no UPDATE but the
 * seal, no DELETE, no TRUNCATE) and no two events share a place in a chain (the unique index on
 * `seq`). Whether each event links to the one before is, for an inserted seal as for the sealer's
 * UPDATE, what `verify` recomputes against the signed checkpoints.
 */
export class AuditSealedAppend1795570000000 implements MigrationInterface {
  name = 'AuditSealedAppend1795570000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`grant insert (seq, prev_hash, hash) on audit_events to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`revoke insert (seq, prev_hash, hash) on audit_events from forecourt_runtime`);
  }
}
