import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plan limits, enforced where rows are made: a store or an active membership beyond what the
 * tenant's plan allows is refused by the database (SQLSTATE FC402, which the API answers as a
 * 402 problem naming the limit), whichever code path inserts it — the API, an invitation, a
 * first SSO sign-in. The check takes a per-tenant advisory lock for the rest of the transaction,
 * so two creations at once cannot both take the last place. A tenant without a subscription, on
 * a plan Forecourt does not know, or on a plan without that limit, is not limited; nor is a
 * cancelled subscription (what follows a cancellation is the lifecycle's to decide). Limits bind
 * the runtime role — the API and everything it does for its users — not the schema owner, whose
 * restores load the rows a backup holds as they were.
 *
 * The platform owner manages the plans through the API: the runtime role may now write them.
 */
export class PlanLimits1795610000000 implements MigrationInterface {
  name = 'PlanLimits1795610000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`grant insert, update on plans to forecourt_runtime`);
    await db.query(`
      create function app.enforce_plan_limits() returns trigger
        language plpgsql security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          allowed integer;
          used integer;
        begin
          -- Limits bind what the API and its users make; the owner's restores load what was there.
          if not pg_has_role(session_user, 'forecourt_runtime', 'usage') then
            return new;
          end if;
          -- Nested, not joined with AND: a store row has no status to read.
          if tg_table_name = 'memberships' then
            if new.status <> 'active' then
              return new;
            end if;
          end if;
          perform pg_advisory_xact_lock(hashtextextended('forecourt.plan-limit:' || new.tenant_id::text, 0));
          select case when tg_table_name = 'stores' then p.max_stores else p.max_users end into allowed
            from public.subscriptions s join public.plans p on p.code = s.plan_code
           where s.tenant_id = new.tenant_id and s.status <> 'cancelled';
          if allowed is null then
            return new;
          end if;
          if tg_table_name = 'stores' then
            select count(*) into used from public.stores where tenant_id = new.tenant_id;
          else
            select count(*) into used from public.memberships
             where tenant_id = new.tenant_id and status = 'active' and id <> new.id;
          end if;
          if used >= allowed then
            raise exception 'The plan allows % %; the tenant has % already', allowed,
              case when tg_table_name = 'stores' then 'stores' else 'active members' end, used
              using errcode = 'FC402';
          end if;
          return new;
        end
        $$`);
    await db.query(`revoke all on function app.enforce_plan_limits() from public`);
    // The owner reads subscriptions, plans, stores and memberships through its backup_read policies.
    await db.query(`
      create trigger stores_plan_limit before insert on stores
        for each row execute function app.enforce_plan_limits()`);
    await db.query(`
      create trigger memberships_plan_limit before insert or update of status on memberships
        for each row execute function app.enforce_plan_limits()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop trigger memberships_plan_limit on memberships`);
    await db.query(`drop trigger stores_plan_limit on stores`);
    await db.query(`drop function app.enforce_plan_limits()`);
    await db.query(`revoke insert, update on plans from forecourt_runtime`);
  }
}
