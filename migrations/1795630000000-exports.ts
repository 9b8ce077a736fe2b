import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's data exports: the request, its progress while a job writes the archive, and the
 * archive's place in object storage once it is complete. The rows are also the job queue: an
 * instance claims a row (`for update skip locked`) and holds it by renewing `lease_until`;
 * `attempts` numbers each claim, so an instance that lost its lease can no longer change the row
 * (every update of a running export names the attempt that made it). The instances find the rows
 * to claim across tenants through `app.claimable_exports`, which reads nothing else.
 */
export class Exports1795630000000 implements MigrationInterface {
  name = 'Exports1795630000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table exports (
        tenant_id uuid not null references tenants (id),
        id uuid not null,
        format text not null check (format in ('jsonl', 'csv')),
        status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed')),
        requested_by uuid references users (id),
        attempts integer not null default 0 check (attempts >= 0),
        lease_until timestamptz,
        rows_done bigint not null default 0 check (rows_done >= 0),
        rows_total bigint check (rows_total >= 0),
        row_count bigint check (row_count >= 0),
        object_path text check (length(object_path) <= 300),
        size_bytes bigint check (size_bytes >= 0),
        sha256 bytea check (length(sha256) = 32),
        failure text check (length(failure) <= 300),
        created_at timestamptz not null,
        completed_at timestamptz,
        expires_at timestamptz,
        primary key (tenant_id, id),
        check ((status = 'completed') = (object_path is not null and expires_at is not null))
      )`);
    await db.query(`create index exports_by_time on exports (tenant_id, created_at, id)`);
    await db.query(`alter table exports enable row level security`);
    await db.query(`alter table exports force row level security`);
    for (const kind of ['permissive', 'restrictive']) {
      await db.query(`
        create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on exports as ${kind}
          for all to forecourt_runtime
          using (tenant_id = (select app.current_tenant_id()))
          with check (tenant_id = (select app.current_tenant_id()))`);
    }
    // The schema owner reads every table for backups (see the backups migration); the claim
    // lookup below runs as the owner and reads through the same policy.
    await db.query(
      `create policy backup_read on exports as permissive for select to current_user using (true)`,
    );
    await db.query(`grant select, insert, update on exports to forecourt_runtime`);

    // The workers' view across tenants: which exports are waiting for an instance (queued, or
    // running under a lease that ran out) in a tenant not deleted, and nothing else. It reads
    // through the owner's backup_read policies (tenants has one too).
    await db.query(`
      create function app.claimable_exports(max_rows integer)
        returns table (tenant_id uuid, id uuid)
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select e.tenant_id, e.id from public.exports e
          join public.tenants t on t.id = e.tenant_id and t.status <> 'deleted'
          where e.status in ('queued', 'running') and coalesce(e.lease_until, '-infinity') < now()
          order by e.created_at limit max_rows
        $$`);
    await db.query(`revoke all on function app.claimable_exports(integer) from public`);
    await db.query(`grant execute on function app.claimable_exports(integer) to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop function app.claimable_exports(integer)`);
    await db.query(`drop table exports`);
  }
}
