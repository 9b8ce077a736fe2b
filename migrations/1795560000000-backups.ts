import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backups read every row of every table, whichever tenant owns it, as the schema owner in one
 * snapshot. Row-level security is forced on the owner too, so each table gets a read-only policy
 * for it (`backup_read`): the owner owns the tables and could switch their security off, so this
 * widens nothing, and the runtime role gains nothing. A table added later must bring its own
 * (the schema rules test insists). `backups` records each backup and its verification.
 */
export class Backups1795560000000 implements MigrationInterface {
  name = 'Backups1795560000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table backups (
        id uuid primary key,
        created_at timestamptz not null default now(),
        finished_at timestamptz,
        status text not null default 'running' check (status in ('running', 'completed', 'failed')),
        schema_version text not null,
        size_bytes bigint check (size_bytes >= 0),
        sha256 bytea check (length(sha256) = 32),
        manifest jsonb,
        local_path text,
        offsite_key text,
        verify_status text check (verify_status in ('passed', 'failed')),
        verified_at timestamptz,
        verify_detail text check (length(verify_detail) <= 2000),
        error text check (length(error) <= 2000)
      )`);
    await db.query(`create index backups_newest on backups (created_at desc)`);
    const tables = (await db.query(
      `select c.relname as name from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relrowsecurity
        order by 1`,
    )) as { name: string }[];
    for (const { name } of tables) {
      await db.query(
        `create policy backup_read on "${name}" as permissive for select to current_user using (true)`,
      );
    }
  }

  async down(db: QueryRunner): Promise<void> {
    const tables = (await db.query(
      `select tablename as name from pg_policies where schemaname = 'public' and policyname = 'backup_read'`,
    )) as { name: string }[];
    for (const { name } of tables) await db.query(`drop policy backup_read on "${name}"`);
    await db.query(`drop table backups`);
  }
}
