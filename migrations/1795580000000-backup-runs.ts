import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backups run by the schedule and how long their restore test took. `scheduled_for` names the
 * schedule slot a backup was taken for; unique, so however many instances fire, a slot has one.
 */
export class BackupRuns1795580000000 implements MigrationInterface {
  name = 'BackupRuns1795580000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      alter table backups
        add column verify_ms integer check (verify_ms >= 0),
        add column scheduled_for timestamptz,
        add constraint backups_scheduled_for_key unique (scheduled_for)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`alter table backups drop column scheduled_for, drop column verify_ms`);
  }
}
