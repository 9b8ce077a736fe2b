import { Client } from 'pg';
import type { TestDatabase } from './test-cluster';

/**
 * Per table of `db` (those of `tables` that exist): `<row count>:<md5 of every row as text, in
 * order>`, read as the superuser. Two databases with equal contents hold the same rows.
 */
export async function tableContents(
  db: TestDatabase,
  tables: readonly string[],
): Promise<Record<string, string>> {
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    const existing = new Set(
      (
        await admin.query<{ name: string }>(
          `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`,
        )
      ).rows.map((row) => row.name),
    );
    const contents: Record<string, string> = {};
    for (const table of tables.filter((name) => existing.has(name))) {
      const { rows } = await admin.query<{ n: string; digest: string | null }>(
        `select count(*) as n, md5(string_agg(t::text, E'\\n' order by t::text)) as digest from "${table}" t`,
      );
      contents[table] = `${rows[0]!.n}:${rows[0]!.digest ?? ''}`;
    }
    return contents;
  } finally {
    await admin.end();
  }
}

/**
 * {@link tableContents} of every table but `backups`, as a restore of a backup of `db` must hold
 * them: the source records the run's end in `backups` after the snapshot was taken, so the copy
 * holds that row as it was then (running).
 */
export async function restorableContents(
  db: TestDatabase,
  tables: readonly string[],
): Promise<Record<string, string>> {
  return tableContents(
    db,
    tables.filter((table) => table !== 'backups'),
  );
}

/**
 * Per table of `db` with a `tenant_id`: `<row count>:<md5 of the rows in order>` of the rows of
 * `tenantId` (null: all rows), read as the superuser.
 */
export async function tenantContents(
  db: TestDatabase,
  tenantId: string | null,
): Promise<Record<string, string>> {
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    const { rows: tables } = await admin.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_attribute a on a.attrelid = c.oid
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attname = 'tenant_id'
        order by 1`,
    );
    const contents: Record<string, string> = {};
    for (const { name } of tables) {
      const { rows } = await admin.query<{ n: string; digest: string | null }>(
        `select count(*) as n, md5(string_agg(t::text, E'\\n' order by t::text)) as digest from "${name}" t
          where $1::uuid is null or t.tenant_id = $1::uuid`,
        [tenantId],
      );
      contents[name] = `${rows[0]!.n}:${rows[0]!.digest ?? ''}`;
    }
    return contents;
  } finally {
    await admin.end();
  }
}

/** The audit trail's tables: append-only, so removing a tenant's rows leaves them. */
export const AUDIT_TRAIL_TABLES = ['audit_checkpoints', 'audit_events', 'audit_heads'];

/**
 * Removes every row of tenant `tenantId` from `db` as the schema owner would by hand — every
 * table with its `tenant_id` but the append-only audit trail, and its `tenants` row unless
 * `keepTenantsRow` — together with the people only it has (their sessions and recovery codes
 * too): what a tenant restored into the live database must find.
 */
export async function removeTenant(
  db: TestDatabase,
  tenantId: string,
  { keepTenantsRow = false }: { keepTenantsRow?: boolean } = {},
): Promise<void> {
  const owner = new Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    await owner.query('begin');
    const { rows: tables } = await owner.query<{ name: string }>(
      `select c.relname as name from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relforcerowsecurity`,
    );
    // The owner meets forced row-level security and the append-only triggers like anyone.
    for (const { name } of tables) {
      await owner.query(`alter table "${name}" no force row level security`);
      await owner.query(`alter table "${name}" disable trigger user`);
    }
    const { rows: people } = await owner.query<{ id: string }>(
      `select distinct m.user_id as id from memberships m
        where m.tenant_id = $1 and not exists (select 1 from memberships o where o.user_id = m.user_id and o.tenant_id <> $1)`,
      [tenantId],
    );
    // Children before parents: the tables referencing others first, until none is left.
    let left = (
      await owner.query<{ name: string }>(
        `select c.relname as name from pg_class c join pg_attribute a on a.attrelid = c.oid
          where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attname = 'tenant_id'`,
      )
    ).rows
      .map((row) => row.name)
      .filter((name) => !AUDIT_TRAIL_TABLES.includes(name));
    while (left.length > 0) {
      const { rows: referenced } = await owner.query<{ name: string }>(
        `select distinct r.relname as name from pg_constraint k join pg_class c on c.oid = k.conrelid
           join pg_class r on r.oid = k.confrelid
          where k.contype = 'f' and c.relname = any($1) and r.relname = any($1) and c.oid <> r.oid`,
        [left],
      );
      const leaves = left.filter((name) => !referenced.some((row) => row.name === name));
      for (const name of leaves) await owner.query(`delete from "${name}" where tenant_id = $1`, [tenantId]);
      left = left.filter((name) => !leaves.includes(name));
    }
    const ids = people.map((person) => person.id);
    await owner.query(`delete from sessions where user_id = any($1)`, [ids]);
    await owner.query(`delete from recovery_codes where user_id = any($1)`, [ids]);
    await owner.query(`delete from users where id = any($1)`, [ids]);
    if (!keepTenantsRow) await owner.query(`delete from tenants where id = $1`, [tenantId]);
    for (const { name } of tables) {
      await owner.query(`alter table "${name}" enable trigger user`);
      await owner.query(`alter table "${name}" force row level security`);
    }
    await owner.query('commit');
  } catch (error) {
    await owner.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await owner.end();
  }
}
