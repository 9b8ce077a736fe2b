import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change of a tenant's subscription standing (its status, or since when it is behind on
 * payment) moves the permissions version of the tenant's members, as a change of the tenant's
 * status does: the access guard's remembered answer, which now includes whether the tenant is
 * read-only, is then never used past such a change.
 */
export class BillingStanding1795620000000 implements MigrationInterface {
  name = 'BillingStanding1795620000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create function app.bump_tenant_members_version() returns trigger
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          update public.users set permissions_version = permissions_version + 1
           where id in (select m.user_id from public.memberships m where m.tenant_id = new.tenant_id);
          return null;
        end
        $$`);
    await db.query(`revoke all on function app.bump_tenant_members_version() from public`);
    await db.query(`
      create trigger subscriptions_permissions_version after insert or update of status, past_due_since on subscriptions
        for each row execute function app.bump_tenant_members_version()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop trigger subscriptions_permissions_version on subscriptions`);
    await db.query(`drop function app.bump_tenant_members_version()`);
  }
}
