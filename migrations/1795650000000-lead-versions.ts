import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A lead's version, moved by every change: a client that read version N sends `If-Match: "N"`
 * with its change and is refused (412) when someone changed the lead in between, instead of
 * overwriting that change unseen.
 */
export class LeadVersions1795650000000 implements MigrationInterface {
  name = 'LeadVersions1795650000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`alter table leads add column version integer not null default 1 check (version >= 1)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`alter table leads drop column version`);
  }
}
