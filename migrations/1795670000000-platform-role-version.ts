import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change of a person's platform role moves their permissions version, as every other change of
 * what they may do already does. An API instance keeps a checked session's principal (platform
 * role included) for reads while the version it was read at is current (`app.prove_session`), so
 * without this a role changed in the users row would be seen only when that memory expires.
 *
 * A BEFORE trigger on the row being updated: the same statement writes the new version, with the
 * updating role's own rights (no `security definer`, no second update).
 */
export class PlatformRoleVersion1795670000000 implements MigrationInterface {
  name = 'PlatformRoleVersion1795670000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create function app.bump_own_permissions_version() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          new.permissions_version := old.permissions_version + 1;
          return new;
        end
        $$`);
    await db.query(`
      create trigger users_platform_role_version before update of platform_role on users
        for each row when (old.platform_role is distinct from new.platform_role)
        execute function app.bump_own_permissions_version()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop trigger users_platform_role_version on users`);
    await db.query(`drop function app.bump_own_permissions_version()`);
  }
}
