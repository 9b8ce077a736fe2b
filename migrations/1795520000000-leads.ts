import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leads: a customer's interest, worked through a status pipeline by an assigned member. A lead
 * lives in its customer's store (the composite key makes them equal and follows a store move), so
 * the store wall on leads is the customer's; the vehicle of interest may be any of the group's.
 */
export class Leads1795520000000 implements MigrationInterface {
  name = 'Leads1795520000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table leads (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        store_id uuid not null,
        customer_id uuid not null,
        vehicle_id uuid,
        source text not null check (length(source) between 1 and 100),
        status text not null default 'new'
          check (status in ('new', 'contacted', 'appointment', 'negotiating', 'won', 'lost')),
        lost_reason text check (length(lost_reason) between 1 and 500),
        assigned_user_id uuid references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, id, store_id),
        foreign key (tenant_id, customer_id, store_id) references customers (tenant_id, id, store_id)
          on update cascade,
        foreign key (tenant_id, vehicle_id) references vehicles (tenant_id, id) on delete set null (vehicle_id),
        constraint leads_lost_reason check ((status = 'lost') = (lost_reason is not null))
      )`);
    await db.query(`create index leads_by_store on leads (tenant_id, store_id, id)`);
    await db.query(`create index leads_by_assignee on leads (tenant_id, assigned_user_id, id)`);
    await db.query(`create index leads_by_status on leads (tenant_id, status, id)`);
    await db.query(`create index leads_of_customer on leads (tenant_id, customer_id, id)`);
    await db.query(
      `create index leads_of_vehicle on leads (tenant_id, vehicle_id) where vehicle_id is not null`,
    );
    await db.query(`create statistics leads_tenant_store (dependencies) on tenant_id, store_id from leads`);

    await db.query(`alter table leads enable row level security`);
    await db.query(`alter table leads force row level security`);
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on leads as ${kind}
          for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }
    await db.query(`
      create policy store_scope on leads as restrictive for all to forecourt_runtime
        using ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))
        with check ((select app.all_stores_in_scope()) or store_id = any ((select app.scoped_store_ids())::uuid[]))`);
    await db.query(`grant select, insert, update on leads to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop table leads`);
  }
}
