import type { ClientBase } from 'pg';

/** Tables that are not owned by one tenant, and why; every other table must carry `tenant_id`. */
export const GLOBAL_TABLES: Record<string, 'rls' | 'no-tenant-data'> = {
  tenants: 'rls', // the root: its id is the tenant id
  users: 'rls', // one person, memberships in several tenants; visible through membership or self
  sessions: 'rls', // a person's sessions: visible only acting as that user
  recovery_codes: 'rls', // likewise
  schema_migrations: 'no-tenant-data',
  key_material: 'no-tenant-data', // wrapped keys: useless without the master key
  auth_attempts: 'no-tenant-data', // IP addresses and timestamps, for rate limits
  platform_invitations: 'no-tenant-data', // invitations onto the platform staff: e-mail, role, token hash
  backups: 'no-tenant-data', // the platform's backups: ids, sizes, hashes, table row counts, status
  plans: 'no-tenant-data', // the platform's price list: codes, names, prices, limits
  // What the platform keeps of a deleted tenant: its id, counts and signed certificate (while a
  // deletion runs, also its admins' addresses for the certificate mail, cleared at the end).
  tenant_deletions: 'no-tenant-data',
};

/**
 * Reads the live catalog and lists every breach of the rules that keep tenants apart and the
 * schema distributable by tenant_id. An empty list means the schema obeys them.
 */
export async function schemaViolations(db: ClientBase): Promise<string[]> {
  const violations: string[] = [];
  const tables = (
    await db.query<{ name: string; rls: boolean; forced: boolean; has_tenant_id: boolean }>(`
      select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
        exists (select 1 from pg_attribute a
                where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as has_tenant_id
      from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      order by 1`)
  ).rows;
  const tenantTables = new Set(tables.filter((table) => table.has_tenant_id).map((table) => table.name));

  for (const table of tables) {
    const kind = GLOBAL_TABLES[table.name];
    if (!table.has_tenant_id && kind === undefined) {
      violations.push(`${table.name}: no tenant_id column and not declared a global table`);
    }
    if ((table.has_tenant_id || kind === 'rls') && !(table.rls && table.forced)) {
      violations.push(`${table.name}: row-level security is not enabled and forced`);
    }
  }

  // The primary key of a tenant table leads with tenant_id.
  const keys = (
    await db.query<{ table: string; name: string; kind: string; columns: string[] }>(`
      select t.relname as table, con.conname as name, con.contype as kind,
        array(select a.attname from unnest(con.conkey) with ordinality k(attnum, n)
              join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.n)::text[] as columns
      from pg_constraint con join pg_class t on t.oid = con.conrelid
      where t.relnamespace = 'public'::regnamespace and con.contype in ('p', 'u', 'x')`)
  ).rows;
  for (const table of tenantTables) {
    const primary = keys.find((key) => key.table === table && key.kind === 'p');
    if (primary?.columns[0] !== 'tenant_id')
      violations.push(`${table}: primary key does not lead with tenant_id`);
  }
  for (const key of keys.filter((k) => tenantTables.has(k.table) && k.kind !== 'p')) {
    if (!key.columns.includes('tenant_id'))
      violations.push(`${key.table}: unique constraint ${key.name} lacks tenant_id`);
  }

  // Unique indexes created without a constraint count too.
  const indexes = (
    await db.query<{ table: string; name: string; definition: string }>(`
      select t.relname as table, i.relname as name, pg_get_indexdef(i.oid) as definition
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      where t.relnamespace = 'public'::regnamespace and x.indisunique
        and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`)
  ).rows;
  for (const index of indexes.filter((i) => tenantTables.has(i.table))) {
    if (!/\btenant_id\b/.test(index.definition))
      violations.push(`${index.table}: unique index ${index.name} lacks tenant_id`);
  }

  // A foreign key between two tenant tables carries tenant_id on both sides, paired.
  const foreignKeys = (
    await db.query<{ table: string; name: string; target: string; columns: string[]; targets: string[] }>(`
      select t.relname as table, con.conname as name, r.relname as target,
        array(select a.attname from unnest(con.conkey) with ordinality k(attnum, n)
              join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.n)::text[] as columns,
        array(select a.attname from unnest(con.confkey) with ordinality k(attnum, n)
              join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.n)::text[] as targets
      from pg_constraint con join pg_class t on t.oid = con.conrelid join pg_class r on r.oid = con.confrelid
      where t.relnamespace = 'public'::regnamespace and con.contype = 'f'`)
  ).rows;
  for (const fk of foreignKeys.filter((f) => tenantTables.has(f.table) && tenantTables.has(f.target))) {
    const at = fk.columns.indexOf('tenant_id');
    if (at < 0 || fk.targets[at] !== 'tenant_id') {
      violations.push(`${fk.table}: foreign key ${fk.name} to ${fk.target} does not pair tenant_id`);
    }
  }

  // Each walled table has a RESTRICTIVE tenant policy for the runtime role, for reads and writes.
  const policies = (
    await db.query<{
      table: string;
      roles: string[];
      cmd: string;
      qual: string | null;
      with_check: string | null;
    }>(`
      select tablename as table, roles::text[] as roles, cmd, qual, with_check from pg_policies
      where schemaname = 'public' and permissive = 'RESTRICTIVE'`)
  ).rows;
  const walled = [...tenantTables, ...Object.keys(GLOBAL_TABLES).filter((t) => GLOBAL_TABLES[t] === 'rls')];
  for (const table of walled) {
    const wall = policies.find(
      (p) =>
        p.table === table &&
        p.cmd === 'ALL' &&
        p.roles.includes('forecourt_runtime') &&
        /current_(tenant|user)_id\(\)/.test(p.qual ?? '') &&
        /current_(tenant|user)_id\(\)/.test(p.with_check ?? ''),
    );
    if (!wall)
      violations.push(`${table}: no RESTRICTIVE tenant policy (USING and WITH CHECK) for forecourt_runtime`);
  }

  // Backups read every table as its owner: a table under row-level security without the owner's
  // read policy would be backed up empty, and restored empty, without a word.
  const readable = new Set(
    (
      await db.query<{ table: string }>(`
        select p.tablename as table from pg_policies p join pg_tables t on t.tablename = p.tablename and t.schemaname = p.schemaname
        where p.schemaname = 'public' and p.policyname = 'backup_read' and p.permissive = 'PERMISSIVE'
          and p.cmd = 'SELECT' and p.qual = 'true' and t.tableowner = any (p.roles::text[])`)
    ).rows.map((row) => row.table),
  );
  for (const table of tables.filter((t) => t.rls)) {
    if (!readable.has(table.name)) violations.push(`${table.name}: no backup_read policy for the owner`);
  }

  // A deleted tenant's rows go from every tenant table: each lets the owner's shredding through.
  const shreddable = new Set(
    (
      await db.query<{ table: string }>(`
        select p.tablename as table from pg_policies p join pg_tables t on t.tablename = p.tablename and t.schemaname = p.schemaname
        where p.schemaname = 'public' and p.policyname = 'tenant_shred' and p.cmd = 'DELETE'
          and t.tableowner = any (p.roles::text[])`)
    ).rows.map((row) => row.table),
  );
  for (const table of tables.filter((t) => t.has_tenant_id)) {
    if (!shreddable.has(table.name)) violations.push(`${table.name}: no tenant_shred policy for the owner`);
  }
  return violations;
}
