import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The off-site copy of each backup (`BACKUP_S3_*`): whether it was uploaded, when, and why not.
 * A backup's record now lives as long as either copy does: local retention removes the local file
 * (`local_path` null), off-site retention the object (`offsite_key` null), and the record goes
 * with the last of them.
 */
export class BackupOffsite1795590000000 implements MigrationInterface {
  name = 'BackupOffsite1795590000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      alter table backups
        add column offsite_status text check (offsite_status in ('uploaded', 'failed')),
        add column offsite_at timestamptz,
        add column offsite_error text check (length(offsite_error) <= 2000)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `alter table backups drop column offsite_status, drop column offsite_at, drop column offsite_error`,
    );
  }
}
